package billing_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
)

func welcome() *billing.WelcomeMessage {
	return &billing.WelcomeMessage{
		ServiceID: "101", AccountID: 3, Owner: "john.doe", TariffID: 7, TariffName: "E3-16GB",
		ProductType: billing.ProductDedicatedServer, Module: "dci",
		Properties: map[string]string{billing.PropIP: "203.0.113.10", billing.PropIPs: "203.0.113.11, ,203.0.113.12", billing.PropLogin: "john_doe"},
		Password:   secret, ActivatedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestDefaultWelcomeTemplate(t *testing.T) {
	t.Parallel()
	w, err := billing.NewWelcomeTemplate(billing.DefaultWelcomeTemplate)
	require.NoError(t, err)
	out, err := w.Render(welcome())
	require.NoError(t, err)
	assert.Equal(t, `Your server is ready.

Service:  #101 (E3-16GB)
Address:  203.0.113.10
          203.0.113.11
          203.0.113.12
Login:    john_doe
Password: `+secret+"\n", out)

	// Optional parts disappear; the main address is required.
	m := welcome()
	m.Password = ""
	delete(m.Properties, billing.PropLogin)
	delete(m.Properties, billing.PropIPs)
	out, err = w.Render(m)
	require.NoError(t, err)
	assert.Equal(t, "Your server is ready.\n\nService:  #101 (E3-16GB)\nAddress:  203.0.113.10\n", out)

	delete(m.Properties, billing.PropIP)
	out, err = w.Render(m)
	require.Error(t, err, "never a half-filled message")
	assert.Empty(t, out)
	assert.Contains(t, err.Error(), "service 101")
}

func TestWelcomeTemplateErrors(t *testing.T) {
	t.Parallel()
	_, err := billing.NewWelcomeTemplate("{{.ServiceID")
	var ae *billing.ArgumentError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "text", ae.Arg)
	assert.True(t, ispkit.IsInvalidArgument(err))

	w, err := billing.NewWelcomeTemplate("{{.Prop \"domain\"}}|{{.NoSuchField}}")
	require.NoError(t, err)
	_, err = w.Render(welcome())
	require.Error(t, err)
	_, err = w.Render(nil)
	require.ErrorAs(t, err, &ae)
}

func TestWelcomeMessageNeverPrintsPassword(t *testing.T) {
	t.Parallel()
	m := welcome()
	for _, f := range []string{"%v", "%+v", "%s", "%#v"} {
		for _, arg := range []any{m, *m} {
			out := fmt.Sprintf(f, arg)
			assert.NotContains(t, out, secret, "%s on %T", f, arg)
			assert.Contains(t, out, "203.0.113.10")
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("welcome", "msg", m)
	assert.NotContains(t, buf.String(), secret)
	assert.Contains(t, buf.String(), `"ip":"203.0.113.10"`)
	assert.Contains(t, buf.String(), `"password":"[REDACTED]"`)
}

func TestNewFailureMessage(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := validDCI5()
	m.ErrorRecipient = "noc@example.com"
	f := billing.NewFailureMessage(m, "101", "open", "op-1", "server 4: install failed", at)
	assert.Equal(t, &billing.FailureMessage{Recipient: "noc@example.com", Module: "dci-msk", ServiceID: "101",
		Operation: "open", OperationID: "op-1", Reason: "server 4: install failed", At: at}, f)
	f = billing.NewFailureMessage(nil, "", "login", "", "rejected", at)
	assert.Empty(t, f.Recipient)
	assert.Empty(t, f.Module)
}

// outbox is a Notifier that renders welcome messages and queues both kinds.
type outbox struct {
	tmpl *billing.WelcomeTemplate
	mu   sync.Mutex
	sent []string
}

func (o *outbox) Welcome(_ context.Context, m *billing.WelcomeMessage) error {
	body, err := o.tmpl.Render(m)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, "to "+m.Owner+":\n"+body)
	return nil
}

func (o *outbox) Failure(_ context.Context, m *billing.FailureMessage) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, fmt.Sprintf("to %s: %s of service %s on %s failed: %s\n", m.Recipient, m.Operation, m.ServiceID, m.Module, m.Reason))
	return nil
}

var _ billing.Notifier = (*outbox)(nil)

func ExampleNotifier() {
	tmpl, err := billing.NewWelcomeTemplate(`Dear {{.Owner}}, server #{{.ServiceID}} is active.
IP address: {{.Properties.ip}}{{with .Prop "domain"}} ({{.}}){{end}}
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	var n billing.Notifier = &outbox{tmpl: tmpl}
	ctx := context.Background()

	// After activation: the service's properties go to the customer.
	_ = n.Welcome(ctx, &billing.WelcomeMessage{ServiceID: "101", Owner: "john.doe",
		Properties: map[string]string{billing.PropIP: "203.0.113.10", "domain": "s101.example.net"}})
	// A failure that needs staff goes to the module's error recipient.
	mod := &billing.Module{Name: "dci-msk", ErrorRecipient: "noc@example.com"}
	_ = n.Failure(ctx, billing.NewFailureMessage(mod, "102", "open", "op-9", "no free server matches the tariff", time.Now()))

	for _, m := range n.(*outbox).sent {
		fmt.Print(m)
	}
	// Output:
	// to john.doe:
	// Dear john.doe, server #101 is active.
	// IP address: 203.0.113.10 (s101.example.net)
	// to noc@example.com: open of service 102 on dci-msk failed: no free server matches the tariff
}
