package main

import (
	"context"
	"strings"
	"sync"

	"github.com/ispkit/ispkit/billing"
)

// welcomeText is the example's welcome message, a Go text/template over
// *billing.WelcomeMessage: fields such as {{.ServiceID}} and the saved
// properties ({{.Properties.ip}} must be there; {{.Prop "x"}} may be
// empty). It deliberately leaves the password out: the customer chose it
// when ordering, and the demo prints the message on the terminal.
const welcomeText = `Dear {{.Owner}},

your dedicated server #{{.ServiceID}} ({{.TariffName}}) is ready.

  Hostname:  {{.Prop "domain"}}
  Address:   {{.Properties.ip}}
{{- range .IPs}}
             {{.}}
{{- end}}
  Server:    {{.Prop "server_name"}}{{with .Prop "os_template"}}, {{.}}{{end}}
  Panel:     user {{.Prop "login"}}, with the password you chose when ordering
{{- with .Prop "license_id"}}
  License:   ISPsystem license {{.}}
{{- end}}
`

// notifier is the example's billing.Notifier: it renders the first welcome
// message in full (the others in one line) and prints the failures that
// would go to the module's error recipient.
type notifier struct {
	d    *demo
	tmpl *billing.WelcomeTemplate

	mu    sync.Mutex
	shown bool
}

func newNotifier(d *demo) (*notifier, error) {
	t, err := billing.NewWelcomeTemplate(welcomeText)
	if err != nil {
		return nil, err
	}
	return &notifier{d: d, tmpl: t}, nil
}

// Welcome implements billing.Notifier.
func (n *notifier) Welcome(_ context.Context, m *billing.WelcomeMessage) error {
	text, err := n.tmpl.Render(m)
	if err != nil {
		return err
	}
	n.mu.Lock()
	first := !n.shown
	n.shown = true
	n.mu.Unlock()
	if first {
		n.d.printf("  welcome message of #%s (welcome.go's template; the others are alike):\n", m.ServiceID)
		for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
			n.d.printf("    | %s\n", l)
		}
	}
	n.d.mu.Lock()
	n.d.welcomes++
	n.d.mu.Unlock()
	return nil
}

// Failure implements billing.Notifier.
func (n *notifier) Failure(_ context.Context, m *billing.FailureMessage) error {
	to := m.Recipient
	if to == "" {
		to = "staff"
	}
	n.d.printf("  %s  #%-5s message to %s: %s\n", sinceStart(n.d.t0), m.ServiceID, to, m.Reason)
	return nil
}

var _ billing.Notifier = (*notifier)(nil)
