package node_test

import (
	"context"

	"github.com/creditx/creditx/client"
	"github.com/creditx/creditx/node"
)

// getNotices reads one page of GET /v1/notices at u into out (the notices
// of the answer's NoticesPage).
func getNotices(ctx context.Context, c *client.Credentials, u string, out *[]node.NoticeView) error {
	var p node.NoticesPage
	err := c.Get(ctx, u, &p)
	*out = p.Notices
	return err
}
