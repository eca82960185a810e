//go:build unix

package spool

import "os"

// openLock opens a message's data for locking.
func openLock(path string) (*os.File, error) { return os.Open(path) }

// syncDir makes the entries of dir (creations, renames, removals)
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
