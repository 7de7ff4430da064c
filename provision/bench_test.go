package provision_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/ispkit/ispkit/provision"
)

// BenchmarkOpenCloseOverhead measures what the engine itself costs per
// dedicated Open and Close of one server (panel calls take no time, no
// install waits): step records, state encoding, the Store, events.
// Compare releases with benchstat:
//
//	go test -run '^$' -bench OpenCloseOverhead -benchmem -count 8 ./provision/
func BenchmarkOpenCloseOverhead(b *testing.B) {
	v := newEnv(b, 2)
	v.dc.PowerDelay, v.dc.InstallDelay = 0, 0
	e := v.engine("bench")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := strconv.Itoa(i + 1)
		if _, err := e.Open(ctx, provision.OpenRequest{ServiceID: id, TariffID: tariffDedic, Owner: "cust" + id, Password: "pw"}); err != nil {
			b.Fatal(err)
		}
		if _, err := e.Close(ctx, provision.CloseRequest{ServiceID: id}); err != nil {
			b.Fatal(err)
		}
	}
}
