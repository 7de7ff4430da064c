package billing

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Notifier delivers the two messages the vendor's integration sends (the
// vendor's ISPWiki page "Integrating with DCImanager"): after activation "the server
// properties will be saved in BILLmanager, the client will receive the
// Welcome message", and a module's errors go to "an administrator or admin in
// charge of those issues" (the module's ErrorRecipient). E-mail, a ticket, a
// chat message or BILLmanager's own notification are all implementations.
//
// Implementations must be safe for concurrent use. An error is the
// notifier's only: the caller logs it and never undoes the work the message
// reports.
type Notifier interface {
	// Welcome tells the customer that a service is active.
	Welcome(ctx context.Context, m *WelcomeMessage) error
	// Failure tells staff about a failure that needs a person.
	Failure(ctx context.Context, m *FailureMessage) error
}

// WelcomeMessage is what a customer learns when a service first becomes
// Active: the service's properties as saved in the billing system.
//
// It may hold the service's password (Password). String, GoString and
// LogValue (value receivers) replace it with "[REDACTED]", so fmt and
// log/slog never print it; a template renders it only where it names
// {{.Password}}.
type WelcomeMessage struct {
	// ServiceID is the service (BILLmanager item) id.
	ServiceID string
	// AccountID is the billing account that owns the service.
	AccountID int64
	// Owner is the account's user name (the panel user is derived from
	// it).
	Owner string
	// TariffID and TariffName identify the tariff plan.
	TariffID   int64
	TariffName string
	// ProductType is the tariff's product type.
	ProductType ProductType
	// Module is the processing module that set the service up.
	Module string
	// Properties are the saved service properties: PropServerID, PropIP,
	// PropIPs, PropLogin and whatever else the module saved (domain, OS).
	Properties map[string]string
	// Password is the panel (or server root) password, when the message
	// should carry it. Never printed by fmt or slog.
	Password string
	// ActivatedAt is when the service became Active.
	ActivatedAt time.Time
}

// Prop returns property key ("" when unset); templates call it as
// {{.Prop "ip"}} for an optional property.
func (m *WelcomeMessage) Prop(key string) string { return m.Properties[key] }

// IPs returns PropIPs split at commas (empty entries dropped); templates
// range over it.
func (m *WelcomeMessage) IPs() []string {
	var out []string
	for ip := range strings.SplitSeq(m.Properties[PropIPs], ",") {
		if ip = strings.TrimSpace(ip); ip != "" {
			out = append(out, ip)
		}
	}
	return out
}

// String implements fmt.Stringer without the password.
func (m WelcomeMessage) String() string {
	return fmt.Sprintf("{ServiceID:%s AccountID:%d Owner:%s TariffID:%d TariffName:%s ProductType:%s Module:%s Properties:%v Password:%s ActivatedAt:%s}",
		m.ServiceID, m.AccountID, m.Owner, m.TariffID, m.TariffName, m.ProductType, m.Module, m.Properties, redactedIfSet(m.Password), m.ActivatedAt.Format(time.RFC3339))
}

// GoString implements fmt.GoStringer (%#v) without the password.
func (m WelcomeMessage) GoString() string { return "billing.WelcomeMessage" + m.String() }

// LogValue implements slog.LogValuer without the password.
func (m WelcomeMessage) LogValue() slog.Value {
	props := make([]any, 0, len(m.Properties))
	for _, k := range slices.Sorted(maps.Keys(m.Properties)) {
		props = append(props, slog.String(k, m.Properties[k]))
	}
	return slog.GroupValue(
		slog.String("service_id", m.ServiceID),
		slog.Int64("account_id", m.AccountID),
		slog.String("owner", m.Owner),
		slog.Int64("tariff_id", m.TariffID),
		slog.String("module", m.Module),
		slog.Group("properties", props...),
		slog.String("password", redactedIfSet(m.Password)),
		slog.Time("activated_at", m.ActivatedAt),
	)
}

// FailureMessage is a failure that needs staff: an operation the engine
// could not finish on its own (a server that failed its install and was
// taken out of sale, an operation given up after its retries, a manual
// task). It is addressed to the processing module's ErrorRecipient.
type FailureMessage struct {
	// Recipient is the module's ErrorRecipient ("" when none is set: the
	// Notifier chooses, for example a default staff address).
	Recipient string
	// Module is the processing module's name.
	Module string
	// ServiceID is the service the operation was for ("" for module-wide
	// failures such as a rejected login).
	ServiceID string
	// Operation is what failed: "open", "suspend", "close", …
	Operation string
	// OperationID is the engine's operation id, for the logs.
	OperationID string
	// Reason says what went wrong. Callers pass error text, which ispkit's
	// errors keep free of secrets.
	Reason string
	// At is when the failure happened.
	At time.Time
}

// NewFailureMessage returns the failure message of module m (its name and
// ErrorRecipient) for the operation of a service. A nil m leaves Module and
// Recipient empty.
func NewFailureMessage(m *Module, serviceID, operation, operationID, reason string, at time.Time) *FailureMessage {
	f := &FailureMessage{ServiceID: serviceID, Operation: operation, OperationID: operationID, Reason: reason, At: at}
	if m != nil {
		f.Module, f.Recipient = m.Name, m.ErrorRecipient
	}
	return f
}

// DefaultWelcomeTemplate is a plain-text welcome message for a dedicated
// server, in the shape [NewWelcomeTemplate] takes.
const DefaultWelcomeTemplate = `Your server is ready.

Service:  #{{.ServiceID}} ({{.TariffName}})
Address:  {{.Properties.ip}}
{{- range .IPs}}
          {{.}}
{{- end}}
{{- with .Prop "login"}}
Login:    {{.}}
{{- end}}
{{- with .Password}}
Password: {{.}}
{{- end}}
`

// WelcomeTemplate renders welcome messages from a Go text/template. The
// template's data is the *WelcomeMessage: fields ({{.ServiceID}},
// {{.Properties.ip}}) and methods ({{.Prop "domain"}}, {{range .IPs}}).
// Naming a property that the service does not have as {{.Properties.x}} is
// an error when rendering (the template option missingkey=error), so a
// message is never sent half-filled; use {{.Prop "x"}} for optional ones.
// A WelcomeTemplate is safe for concurrent use.
type WelcomeTemplate struct {
	t *template.Template
}

// NewWelcomeTemplate parses text. A parse error is returned as an
// *ArgumentError for "text" (with the parser's message as its reason).
func NewWelcomeTemplate(text string) (*WelcomeTemplate, error) {
	t, err := template.New("welcome").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, invalid("text", err.Error())
	}
	return &WelcomeTemplate{t: t}, nil
}

// Render renders the message for m. A nil m is an *ArgumentError; a
// template that fails (for example on a missing property) returns the
// template's error and no text.
func (w *WelcomeTemplate) Render(m *WelcomeMessage) (string, error) {
	if m == nil {
		return "", invalid("WelcomeMessage", "nil")
	}
	var b strings.Builder
	if err := w.t.Execute(&b, m); err != nil {
		return "", fmt.Errorf("billing: rendering the welcome message of service %s: %w", m.ServiceID, err)
	}
	return b.String(), nil
}
