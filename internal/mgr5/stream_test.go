package mgr5_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// streamRows decodes body with the streaming decoder into rows as
// DecodeList builds them.
func streamRows(body []byte) ([]mgr5.Row, error) {
	var rows []mgr5.Row
	err := mgr5.DecodeStream("p", "f", bytes.NewReader(body), func(raw json.RawMessage) error {
		var r mgr5.Row
		if err := mgr5.DecodeRow("p", "f", raw, &r); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// The streaming decoder gives DecodeList's rows and errors on every body
// of the list corpus, except where a document repeats elem or error (the
// stream acts on the first, DecodeList keeps the last).
func TestDecodeStreamMatchesDecodeList(t *testing.T) {
	t.Parallel()
	firstWins := map[string]bool{"two elems": true, "two errors": true}
	for _, c := range listCases {
		t.Run(c.name, func(t *testing.T) {
			want, wantErr := mgr5.DecodeList("p", "f", []byte(c.body))
			got, gotErr := streamRows([]byte(c.body))
			if firstWins[c.name] {
				assert.NotEqual(t, fmt.Sprint(want, wantErr), fmt.Sprint(got, gotErr), "a repeated key: the first wins")
				return
			}
			var we, ge *mgr5.Error
			var wp, gp *mgr5.ProtocolError
			switch {
			case wantErr == nil:
				require.NoError(t, gotErr)
				if len(want) == 0 {
					assert.Empty(t, got)
				} else {
					assert.Equal(t, want, got)
				}
			case errors.As(wantErr, &we):
				require.ErrorAs(t, gotErr, &ge)
				assert.Equal(t, we, ge)
			case errors.As(wantErr, &wp):
				require.ErrorAs(t, gotErr, &gp, "want %v", wantErr)
				assert.Equal(t, "p", gp.Panel)
				assert.Equal(t, "f", gp.Func)
			default:
				t.Fatalf("unexpected reference error %T %v", wantErr, wantErr)
			}
		})
	}
}

// bigList renders n server rows as a panel does.
func bigList(n int) string {
	var b strings.Builder
	b.WriteString(`{"doc":{"$lang":"en","elem":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":{"$":"%d"},"name":{"$":"srv%d"},"poweron":{}}`, i, i)
	}
	b.WriteString(`],"p_cnt":{"$":"1"}}}`)
	return b.String()
}

func TestStreamListOverHTTP(t *testing.T) {
	t.Parallel()
	const n = 2000
	p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, bigList(n) })
	c := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo)
	ctx := ctxT(t)

	ids := 0
	err := c.StreamRows(ctx, mgr5.Request{Func: "server", Class: httpx.SafeRead}, func(r mgr5.Row) error {
		ids++
		assert.Equal(t, fmt.Sprint(ids), r.Get("id"))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, n, ids)
	f := p.seen()[0].Form
	assert.Equal(t, "server", f.Get("func"))
	assert.Equal(t, "json", f.Get("out"))

	// ErrStop ends the reading without an error; another error is returned.
	seen := 0
	err = c.StreamList(ctx, mgr5.Request{Func: "server"}, func(json.RawMessage) error {
		seen++
		if seen == 3 {
			return mgr5.ErrStop
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, seen)
	boom := errors.New("boom")
	err = c.StreamList(ctx, mgr5.Request{Func: "server"}, func(json.RawMessage) error { return boom })
	assert.Same(t, boom, err)
}

// The size cap applies to a streamed list: the reading stops at the cap
// with *httpx.ResponseTooLargeError, even when rows were handed out before.
func TestStreamListCap(t *testing.T) {
	t.Parallel()
	body := bigList(5000)
	p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, body })
	limit := int64(len(body) / 2)
	c := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.HTTP.MaxResponseBytes = limit })
	rows := 0
	err := c.StreamList(ctxT(t), mgr5.Request{Func: "server"}, func(json.RawMessage) error { rows++; return nil })
	var big *httpx.ResponseTooLargeError
	require.ErrorAs(t, err, &big)
	assert.Equal(t, limit, big.Limit)
	assert.Equal(t, "server", big.Op)
	assert.Equal(t, "dcimanager5", big.Panel)
	assert.Positive(t, rows, "rows before the cap were read as they came")
	assert.Less(t, rows, 5000)

	// At exactly the body's size the whole list is read.
	c = newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.HTTP.MaxResponseBytes = int64(len(body)) })
	rows = 0
	require.NoError(t, c.StreamList(ctxT(t), mgr5.Request{Func: "server"}, func(json.RawMessage) error { rows++; return nil }))
	assert.Equal(t, 5000, rows)
}

func TestStreamListErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{"doc.error", 200, `{"doc":{"error":{"$type":"access","msg":{"$":"denied"}}}}`, func(t *testing.T, err error) {
			assert.True(t, mgr5.IsAccess(err), "%v", err)
		}},
		{"doc.error in a 500", 500, `{"doc":{"error":{"$type":"missed","$object":"elid"}}}`, func(t *testing.T, err error) {
			assert.True(t, mgr5.IsNotFound(err), "%v", err)
		}},
		{"bare 502", 502, `<html>bad gateway</html>`, func(t *testing.T, err error) {
			var pe *mgr5.ProtocolError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, http.StatusBadGateway, pe.StatusCode)
		}},
		{"html", 200, `<html>login</html>`, func(t *testing.T, err error) {
			assert.ErrorAs(t, err, new(*mgr5.ProtocolError))
		}},
		{"truncated", 200, `{"doc":{"elem":[{"id":{"$":"1"}},`, func(t *testing.T, err error) {
			assert.ErrorAs(t, err, new(*mgr5.ProtocolError))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newTestPanel(t, func(int, url.Values) (int, string) { return tc.status, tc.body })
			c := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.HTTP.MaxRetries = -1 })
			err := c.StreamList(ctxT(t), mgr5.Request{Func: "server", Class: httpx.SafeRead}, func(json.RawMessage) error { return nil })
			require.Error(t, err)
			tc.check(t, err)
		})
	}
}

// An expired session is renewed once and the list read again, as in List.
func TestStreamListSessionRelogin(t *testing.T) {
	t.Parallel()
	sp := newSessionPanel(t, func(call int) bool { return call == 1 })
	c := newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthSession)
	var raws []string
	require.NoError(t, c.StreamList(ctxT(t), mgr5.Request{Func: "whoami"}, func(raw json.RawMessage) error {
		raws = append(raws, string(raw))
		return nil
	}))
	assert.Empty(t, raws, "whoami has no elem")
	logins, calls := sp.counts()
	assert.Equal(t, 2, logins)
	assert.Equal(t, 2, calls)
}
