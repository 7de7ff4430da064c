package fakebackend_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/fakebackend"
)

// A fake data center on a clock the test moves: a ten-minute install
// finishes without waiting.
func ExampleDC() {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	dc := fakebackend.NewDC()
	dc.Clock = func() time.Time { return now }
	dc.InstallDelay = 10 * time.Minute
	ids := dc.AddServers(2, "E3-16GB", nil)

	_ = dc.PowerOn(ctx, ids[0])
	_ = dc.Install(ctx, ids[0], provision.InstallSpec{Template: "Debian-12", Password: "root-pw"})
	st, _ := dc.InstallStatus(ctx, ids[0])
	fmt.Println("running:", st.Running, "percent:", st.Percent)
	now = now.Add(10 * time.Minute)
	st, _ = dc.InstallStatus(ctx, ids[0])
	fmt.Println("running:", st.Running)
	fmt.Println("installs on server", ids[0]+":", dc.Server(ids[0]).Installs)
	// Output:
	// running: true percent: 0
	// running: false
	// installs on server 1: 1
}
