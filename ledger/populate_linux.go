package ledger

import "syscall"

// populateFlag is the bbolt mmap flag for Options.Populate.
func populateFlag(on bool) int {
	if on {
		return syscall.MAP_POPULATE
	}
	return 0
}

// initialMmap is the size bbolt maps a writable ledger file with from the
// start (Options.InitialMmapSize): address space only, the file grows as
// before. Without it bbolt maps the file at the next power of two and maps
// it again each time it outgrows the mapping (about 15 times on the way to
// 1 GiB), each time blocking the writer until every read transaction has
// finished, and dropping the mapping's page tables, so that every page is
// faulted in again. With it a ledger below 1 GiB is mapped once; above it
// bbolt grows the mapping 1 GiB at a time as before. A mapping reaches past
// the file's end only where no page is referenced yet, so nothing reads
// there. Only for a writer without MAP_POPULATE (Options.Populate would
// try to fault in the whole mapping; a read-only file does not grow).
func initialMmap(writer bool) int {
	if !writer {
		return 0
	}
	return 1 << 30
}
