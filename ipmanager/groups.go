package ipmanager

import (
	"context"
	"math"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// Group is an IP address group (the panel's "IP address group", wire name
// iptype). Counts are zero when the panel does not report them.
type Group struct {
	// Name is the group's key, as used in AllocateRequest.Group.
	Name string
	// Comment is the panel's description of the group.
	Comment string
	// Parking is true when the panel marks the group as a parking group.
	Parking bool
	// Used is the number of allocated addresses in the group.
	Used int
	// Free is the number of addresses automatic allocation can still hand
	// out, saturated at math.MaxInt64 for large IPv6 ranges.
	Free int64
}

// Groups lists the IP address groups (panel function iptype).
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	rows, err := c.m.List(ctx, mgr5.Request{Func: FuncGroups, Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(rows))
	for _, r := range rows {
		name := r.Get("name")
		if name == "" {
			name = r.Get("id")
		}
		g := Group{Name: name, Comment: r.Get("comment"), Parking: r.Has("parking")}
		g.Used, _ = strconv.Atoi(strings.TrimSpace(r.Get("used")))
		if f, err := strconv.ParseInt(strings.TrimSpace(r.Get("free")), 10, 64); err == nil {
			g.Free = f
		} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			g.Free = math.MaxInt64
		}
		out = append(out, g)
	}
	return out, nil
}
