package dcimanager5

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// TrafficService reads traffic reports. Get it from Client.Traffic.
type TrafficService service

// Burst is the burstable-billing figure of one server.
type Burst struct {
	// ServerID is the server id.
	ServerID int64
	// Name is the server label, when the report shows it.
	Name string
	// Value is the burst figure as the panel printed it.
	Value string
	// Mbps is Value parsed as a number (0 when it is not one).
	Mbps float64
}

// Burstable returns the burstable traffic report: one row per server. The
// rows are found under doc.reportdata, wherever the report nests its elem
// rows.
//
// Calls func=trafficburstable.
func (s *TrafficService) Burstable(ctx context.Context) ([]Burst, error) {
	d, err := s.c.call(ctx, mgr5.Request{Func: "trafficburstable", Class: httpx.SafeRead})
	if err != nil {
		return nil, err
	}
	if !d.Has("reportdata") {
		return nil, nil
	}
	var raw any
	if err := d.Into("reportdata", &raw); err != nil {
		return nil, &ProtocolError{Panel: "dcimanager5", Func: "trafficburstable", Reason: "cannot decode reportdata: " + err.Error()}
	}
	var out []Burst
	collectBursts(raw, &out)
	sort.Slice(out, func(i, j int) bool { return out[i].ServerID < out[j].ServerID })
	return out, nil
}

// BurstFor returns the burst figure of server id, or an error matching
// IsNotFound when the report has no row for it.
//
// Calls func=trafficburstable.
func (s *TrafficService) BurstFor(ctx context.Context, id int64) (*Burst, error) {
	if err := checkID("Traffic.BurstFor", "id", id); err != nil {
		return nil, err
	}
	all, err := s.Burstable(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].ServerID == id {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("dcimanager5: no traffic row for server %d: %w", id, ErrNotFound)
}

func leafText(v any) string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x["$"].(string); ok {
			return s
		}
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

func collectBursts(v any, out *[]Burst) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			collectBursts(e, out)
		}
	case map[string]any:
		if _, ok := x["burst"]; ok {
			if id, ok := parseID(leafText(x["id"])); ok {
				b := Burst{ServerID: id, Name: leafText(x["name"]), Value: leafText(x["burst"])}
				b.Mbps, _ = strconv.ParseFloat(strings.Fields(b.Value + " 0")[0], 64)
				*out = append(*out, b)
				return
			}
		}
		for k, e := range x {
			if strings.HasPrefix(k, "$") {
				continue
			}
			collectBursts(e, out)
		}
	}
}
