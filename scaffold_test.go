package ispkit_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ispmanager"
)

// The four panel clients share one scaffold: the same defaults, the same
// handling of a nil option, the same error type for a refused option and
// for a configuration the HTTP core refuses.
func TestOneClientScaffold(t *testing.T) {
	t.Parallel()
	clients := map[string]struct {
		timeout time.Duration
		build   func(timeout time.Duration, nilOpt, rt bool, size int64) error
	}{
		"dcimanager5": {dcimanager5.DefaultTimeout, func(d time.Duration, nilOpt, rt bool, size int64) error {
			opts := []dcimanager5.Option{dcimanager5.WithCredentials("u", "p"), dcimanager5.WithTimeout(d)}
			if nilOpt {
				opts = append(opts, nil)
			}
			if rt {
				opts = append(opts, dcimanager5.WithTransport(roundTripper{}), dcimanager5.WithInsecureSkipVerify())
			}
			if size != 0 {
				opts = append(opts, dcimanager5.WithMaxResponseSize(size))
			}
			_, err := dcimanager5.NewClient("https://panel.example:1500/dcimgr", opts...)
			return err
		}},
		"dcimanager6": {dcimanager6.DefaultTimeout, func(d time.Duration, nilOpt, rt bool, size int64) error {
			opts := []dcimanager6.Option{dcimanager6.WithCredentials("a@example.com", "p"), dcimanager6.WithTimeout(d)}
			if nilOpt {
				opts = append(opts, nil)
			}
			if rt {
				opts = append(opts, dcimanager6.WithHTTPClient(&http.Client{Transport: roundTripper{}}), dcimanager6.WithInsecureSkipVerify())
			}
			if size != 0 {
				opts = append(opts, dcimanager6.WithMaxResponseSize(size))
			}
			_, err := dcimanager6.NewClient("https://dci.example", opts...)
			return err
		}},
		"ipmanager": {ipmanager.DefaultTimeout, func(d time.Duration, nilOpt, rt bool, size int64) error {
			opts := []ipmanager.Option{ipmanager.WithCredentials("u", "p"), ipmanager.WithTimeout(d)}
			if nilOpt {
				opts = append(opts, nil)
			}
			if rt {
				opts = append(opts, ipmanager.WithHTTPClient(&http.Client{Transport: roundTripper{}}), ipmanager.WithInsecureSkipVerify())
			}
			if size != 0 {
				opts = append(opts, ipmanager.WithMaxResponseSize(size))
			}
			_, err := ipmanager.NewClient("https://ipm.example:1500/ipmgr", opts...)
			return err
		}},
		"ispmanager": {ispmanager.DefaultTimeout, func(d time.Duration, nilOpt, rt bool, size int64) error {
			opts := []ispmanager.Option{ispmanager.WithCredentials("u", "p"), ispmanager.WithTimeout(d)}
			if nilOpt {
				opts = append(opts, nil)
			}
			if rt {
				opts = append(opts, ispmanager.WithHTTPClient(&http.Client{Transport: roundTripper{}}), ispmanager.WithInsecureSkipVerify())
			}
			if size != 0 {
				opts = append(opts, ispmanager.WithMaxResponseSize(size))
			}
			_, err := ispmanager.NewClient("https://isp.example:1500/ispmgr", opts...)
			return err
		}},
	}
	for name, c := range clients {
		if c.timeout != 60*time.Second {
			t.Errorf("%s: default timeout %s, want the 60 s all clients share", name, c.timeout)
		}
		if err := c.build(time.Second, true, false, 0); err != nil {
			t.Errorf("%s: a nil option is skipped, got %v", name, err)
		}
		for what, err := range map[string]error{
			"bad option":         c.build(-time.Second, false, false, 0),
			"bad size":           c.build(time.Second, false, false, -1),
			"TLS on a custom RT": c.build(time.Second, false, true, 0),
		} {
			var ae *ispkit.ArgumentError
			if !errors.As(err, &ae) || !errors.Is(err, ispkit.ErrInvalidArgument) {
				t.Errorf("%s: %s: want *ispkit.ArgumentError, got %T %v", name, what, err, err)
				continue
			}
			if ae.Package != name {
				t.Errorf("%s: %s: Package = %q", name, what, ae.Package)
			}
		}
	}
}

type roundTripper struct{}

func (roundTripper) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("unused")
}
