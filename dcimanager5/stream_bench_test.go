package dcimanager5_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/ispkit/ispkit/dcimanager5"
)

// writeServerList writes an out=json list of n servers row by row, as the
// panel renders it (about 600 bytes a row), without ever holding it: the
// panel side of the benchmark must not hide the client's memory.
func writeServerList(w io.Writer, n int) {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"doc":{"$binary":"/dcimgr","$func":"server","$lang":"en","elem":[`)
	for i := 1; i <= n; i++ {
		if i > 1 {
			bw.WriteByte(',')
		}
		host, owner := "free.ds", ""
		if i%3 == 0 {
			host, owner = fmt.Sprintf("customer%d.example.com", i), fmt.Sprintf(`,"owner":{"$":"%d"}`, i%97+2)
		}
		power := `"poweroff":{}`
		if i%2 == 0 {
			power = `"poweron":{}`
		}
		fmt.Fprintf(bw, `{"id":{"$":"%d"},"name":{"$":"srv-%d"},"hostname":{"$":"%s"}%s,"ip":{"$":"10.%d.%d.%d"},`+
			`"chassis_templ":{"$":"E3-16GB"},"type":{"$orig":"1U","$":"1U"},`+
			`"gen_chassis_name":{"$":"Xeon E3-1230v6, 16 GB, 2x480 GB SSD, 2x1 Gbit/s, IPMI 2.0, redundant power"},`+
			`"rack":{"$":"Row %d rack R%d unit %d"},"ipmi":{"$":"IPMI S%d (10.200.%d.%d)"},%s}`,
			i, i, host, owner, i/65536, i/256%256, i%256, i/2000, i/40, i%40, i, i/256%256, i%256, power)
	}
	bw.WriteString(`],"metadata":{"$name":"server","$type":"list","$key":"id"},"tparams":{"func":{"$":"server"},"out":{"$":"json"}}}}`)
	bw.Flush()
}

// heapSampler samples the live heap (after a collection) every step bytes
// of body read, keeping the peak: the memory a list costs while it is
// being read, which is what a big answer does to the caller.
type heapSampler struct {
	base     http.RoundTripper
	step     int64
	peak     uint64
	baseline uint64
}

func (h *heapSampler) sample() {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if m.HeapAlloc > h.peak {
		h.peak = m.HeapAlloc
	}
}

func (h *heapSampler) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.base.RoundTrip(r)
	if err == nil {
		resp.Body = &sampledBody{ReadCloser: resp.Body, h: h}
	}
	return resp, err
}

type sampledBody struct {
	io.ReadCloser
	h    *heapSampler
	read int64
	next int64
}

func (b *sampledBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.read >= b.next {
		b.next = b.read + b.h.step
		b.h.sample()
	}
	return n, err
}

// BenchmarkServers100k reads a 100,000-server list with List (whole body,
// then the slice) and with All (row by row), reporting the peak live heap
// seen while reading (peak-heap-MB, above the heap before the call) next
// to the allocation figures. Compare the two with
//
//	go test ./dcimanager5 -run '^$' -bench Servers100k -benchtime 2x -count 6 > /tmp/s.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /read /tmp/s.txt
func BenchmarkServers100k(b *testing.B) {
	const n = 100_000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		writeServerList(w, n)
	}))
	defer srv.Close()
	h := &heapSampler{base: http.DefaultTransport, step: 4 << 20}
	c, err := dcimanager5.NewClient(srv.URL+"/dcimgr", dcimanager5.WithCredentials("admin", "secret"), dcimanager5.WithTransport(h))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	reads := []struct {
		name string
		read func() int
	}{
		{"List", func() int {
			list, err := c.Servers.List(ctx)
			if err != nil {
				b.Fatal(err)
			}
			h.sample() // the slice is still live here
			return len(list)
		}},
		{"All", func() int {
			count := 0
			for _, err := range c.Servers.All(ctx) {
				if err != nil {
					b.Fatal(err)
				}
				count++
			}
			h.sample()
			return count
		}},
	}
	for _, rd := range reads {
		b.Run("read="+rd.name, func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				h.peak = 0
				if got := rd.read(); got != n {
					b.Fatalf("read %d servers, want %d", got, n)
				}
				peak = max(peak, h.peak-min(h.peak, m.HeapAlloc))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}
