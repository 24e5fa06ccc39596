//go:build !linux

package ledger

// populateFlag is the bbolt mmap flag for Options.Populate: none outside
// Linux.
func populateFlag(bool) int { return 0 }
