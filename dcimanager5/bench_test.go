package dcimanager5

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"testing"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/internal/mgr5"
)

const benchRows = 10000

// serverListBody renders a realistic out=json server list of n rows.
func serverListBody(n int) []byte {
	d := mgr5.NewDoc().Attr("func", "server").Attr("lang", "en").Attr("binary", "/dcimgr")
	for i := 1; i <= n; i++ {
		e := d.Elem()
		id := strconv.Itoa(i)
		e.Add("id", id)
		e.Add("name", "srv-"+id)
		if i%3 == 0 {
			e.Add("hostname", "customer"+id+".example.com")
			e.Add("owner", strconv.Itoa(i%97+2))
		} else {
			e.Add("hostname", "free.ds")
		}
		e.Add("ip", "10.10."+strconv.Itoa(i/250)+"."+strconv.Itoa(i%250+1))
		e.Add("chassis_templ", "E3-16GB")
		e.Add("type", "1U").Attr("orig", "1U")
		e.Add("gen_chassis_name", "Xeon E3-1230v6, 16 GB, 2x480 GB SSD")
		e.Add("rack", "R"+strconv.Itoa(i/40)+" unit "+strconv.Itoa(i%40))
		e.Add("ipmi", "IPMI S"+id)
		e.FlagIf("poweron", i%2 == 0)
		e.FlagIf("poweroff", i%2 == 1)
		e.FlagIf("hwproblem", i%50 == 0)
		e.FlagIf("install_in_progress", i%7 == 0)
	}
	d.Add("metadata", "").Attr("name", "server").Attr("type", "list").Attr("key", "id")
	d.Add("tparams", "").Add("func", "server")
	return mgr5.RenderJSON(d, false)
}

func perRow(b *testing.B, rows int, run func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(rows)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
}

// BenchmarkDecodeServers10k decodes a 10,000-server list body into
// []Server exactly as Servers.List does after the HTTP exchange: the
// doc.error check of mgr5.Client.CallRaw (mgr5.BodyError), then
// decodeServerList on the raw bytes.
func BenchmarkDecodeServers10k(b *testing.B) {
	body := serverListBody(benchRows)
	b.SetBytes(int64(len(body)))
	perRow(b, benchRows, func() {
		if err := mgr5.BodyError("dcimanager5", "server", body); err != nil {
			b.Fatal(err)
		}
		list, err := decodeServerList("dcimanager5", body)
		if err != nil || len(list) != benchRows {
			b.Fatal(err, len(list))
		}
	})
}

// BenchmarkDecodeServers10kViaDoc is the former List path, kept for
// comparison and used as the fallback: mgr5.Decode of the whole document
// (encoding/json), then the scanner on doc.elem.
func BenchmarkDecodeServers10kViaDoc(b *testing.B) {
	body := serverListBody(benchRows)
	b.SetBytes(int64(len(body)))
	perRow(b, benchRows, func() {
		d, err := mgr5.Decode("dcimanager5", "server", body)
		if err != nil {
			b.Fatal(err)
		}
		list, err := decodeServers(d)
		if err != nil || len(list) != benchRows {
			b.Fatal(err, len(list))
		}
	})
}

// BenchmarkDecodeServers10kMapAny is the baseline: plain encoding/json into
// map[string]any on the same bytes (no typing, no flags, no ids).
func BenchmarkDecodeServers10kMapAny(b *testing.B) {
	body := serverListBody(benchRows)
	b.SetBytes(int64(len(body)))
	perRow(b, benchRows, func() {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkDecodeServers10kGenericRows decodes into the generic mgr5 rows
// (map of field to value), for comparison.
func BenchmarkDecodeServers10kGenericRows(b *testing.B) {
	body := serverListBody(benchRows)
	b.SetBytes(int64(len(body)))
	perRow(b, benchRows, func() {
		rows, err := mgr5.DecodeList("dcimanager5", "server", body)
		if err != nil || len(rows) != benchRows {
			b.Fatal(err)
		}
	})
}

// elemOf returns the raw doc.elem of body.
func elemOf(b *testing.B, body []byte) (*mgr5.Doc, json.RawMessage) {
	d, err := mgr5.Decode("dcimanager5", "server", body)
	if err != nil {
		b.Fatal(err)
	}
	var raw json.RawMessage
	if err := d.Into("elem", &raw); err != nil {
		b.Fatal(err)
	}
	return d, raw
}

// BenchmarkDecodeServers10kElemVisitor is the elem step of
// BenchmarkDecodeServers10k alone: the shared scanner visiting fields
// straight into wireServer (what fastServers does).
func BenchmarkDecodeServers10kElemVisitor(b *testing.B) {
	_, raw := elemOf(b, serverListBody(benchRows))
	b.SetBytes(int64(len(raw)))
	perRow(b, benchRows, func() {
		list, ok := fastServers(raw)
		if !ok || len(list) != benchRows {
			b.Fatal(ok, len(list))
		}
	})
}

// BenchmarkDecodeServers10kElemRowsConvert is the alternative to the
// visitor: generic []mgr5.Row from the same scanner (Doc.Rows), then a
// conversion of each row to Server.
func BenchmarkDecodeServers10kElemRowsConvert(b *testing.B) {
	d, raw := elemOf(b, serverListBody(benchRows))
	b.SetBytes(int64(len(raw)))
	perRow(b, benchRows, func() {
		rows, err := d.Rows()
		if err != nil || len(rows) != benchRows {
			b.Fatal(err, len(rows))
		}
		list := make([]Server, 0, len(rows))
		for _, row := range rows {
			var r serverRows
			r.Row(false)
			for k, v := range row {
				r.Field(k, v)
			}
			r.flush()
			list = append(list, r.out[0])
		}
	})
}

func TestDecodeBenchBody(t *testing.T) {
	t.Parallel()
	body := serverListBody(30)
	d, err := mgr5.Decode("dcimanager5", "server", body)
	if err != nil {
		t.Fatal(err)
	}
	viaDoc, err := decodeServers(d)
	if err != nil || len(viaDoc) != 30 {
		t.Fatal(err, len(viaDoc))
	}
	// The benchmarked route takes the one-pass scanner (no fallback) and
	// gives the same servers.
	list, ok := fastServerList(body)
	if !ok || !reflect.DeepEqual(list, viaDoc) {
		t.Fatalf("fast path ok=%v, differs from the Decode path", ok)
	}
	if err := mgr5.BodyError("dcimanager5", "server", body); err != nil {
		t.Fatal(err)
	}
	s := list[2]
	if s.ID != 3 || s.Owner != 5 || s.Hostname != "customer3.example.com" || !s.PowerOff || s.PowerOn || s.Type != "1U" {
		t.Fatalf("%+v", s)
	}
	// The capacity estimate of fastServerList holds on the benchmark body
	// (no growth of the result while scanning).
	big := serverListBody(benchRows)
	if n := len(big) / benchRows; n < 256 {
		t.Errorf("rows average %d bytes; revisit the capacity estimate in fastServerList", n)
	}
}

// BenchmarkCallClient is one Servers.List through the full client (retry
// policy, limiter transport, logging hooks, typed decoding) against a
// local fake panel.
func BenchmarkCallClient(b *testing.B) {
	srv := dcimanager5test.NewServer()
	defer srv.Close()
	user, pass := srv.Admin()
	c, err := NewClient(srv.URL(), WithCredentials(user, pass))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Servers.List(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallRawHTTP is the same call with net/http and encoding/json
// into map[string]any, against the same fake.
func BenchmarkCallRawHTTP(b *testing.B) {
	srv := dcimanager5test.NewServer()
	defer srv.Close()
	user, pass := srv.Admin()
	form := url.Values{"func": {"server"}, "out": {"json"}, "authinfo": {user + ":" + pass}}
	hc := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := hc.PostForm(srv.URL(), form)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
}
