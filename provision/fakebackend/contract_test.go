package fakebackend_test

import (
	"testing"
	"time"

	"github.com/ispkit/ispkit/internal/wait"
	"github.com/ispkit/ispkit/provision/backendtest"
	"github.com/ispkit/ispkit/provision/fakebackend"
)

func TestDedicatedContract(t *testing.T) {
	backendtest.RunDedicated(t, func(t *testing.T) backendtest.Dedicated {
		clk := wait.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		dc := fakebackend.NewDC()
		dc.Clock = clk.Now
		dc.InstallDelay = time.Hour
		ids := dc.AddServers(2, "X", nil)
		return backendtest.Dedicated{
			Backend: dc, Servers: ids, Config: "X", OSTemplate: "Debian-12", IPGroup: "public",
			FinishInstall: func(*testing.T, string) { clk.Advance(time.Hour) },
		}
	})
}

func TestIPPoolContract(t *testing.T) {
	backendtest.RunIPPool(t, func(t *testing.T) backendtest.IPPool {
		p := fakebackend.NewPool()
		p.AddRange("public", "203.0.113.1", "203.0.113.2", "203.0.113.3")
		return backendtest.IPPool{Pool: p, Group: "public"}
	})
}

func TestHostingContract(t *testing.T) {
	backendtest.RunHosting(t, func(t *testing.T) backendtest.Hosting {
		h := fakebackend.NewHosting()
		h.AddPreset("basic", map[string]string{"limit_db": "1"})
		return backendtest.Hosting{Backend: h, Preset: "basic"}
	})
}
