package node

import "time"

// ChangesAt reads a page of the changes feed from cursor as of time at (the
// feed's expiries are due by the calendar; tests cannot wait for a day).
func (n *Node) ChangesAt(cursor string, limit int, at time.Time) (ChangesPage, error) {
	from, err := DecodeCursor(feedChanges, cursor)
	if err != nil {
		return ChangesPage{}, err
	}
	p, _, err := n.changesPage(from, limit, at)
	return p, err
}
