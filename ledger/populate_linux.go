package ledger

import "syscall"

// populateFlag is the bbolt mmap flag for Options.Populate.
func populateFlag(on bool) int {
	if on {
		return syscall.MAP_POPULATE
	}
	return 0
}
