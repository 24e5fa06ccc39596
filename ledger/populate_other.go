//go:build !linux

package ledger

// populateFlag is the bbolt mmap flag for Options.Populate: none outside
// Linux.
func populateFlag(bool) int { return 0 }

// initialMmap is bbolt's Options.InitialMmapSize for a ledger file: none
// outside Linux (on Windows bbolt would grow the file to the mapping's size).
func initialMmap(writer bool) int { return 0 }
