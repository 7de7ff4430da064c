package provision

import (
	"context"
	"log/slog"
	"maps"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// The engine's messages to people (Config.Notifier): the customer's welcome
// when a service first becomes Active, and the failures that need staff,
// addressed to the processing module's error recipient (the vendor's
// "Integrating with DCImanager": "the client will receive the Welcome
// message"; "if you want to receive error messages in case of errors,
// select an administrator or admin in charge of those issues").
//
// Delivery is at most once: a message is sent after what it reports was
// stored, on the goroutine running the operation; a crash between the two
// loses it, and a failed delivery is logged (without the password) and
// never undoes the work. A Notifier that must not lose messages queues
// them durably itself.

// notifyTimeout bounds one call of the Notifier.
const notifyTimeout = 30 * time.Second

// notifyWelcome sends the welcome of service s, whose properties (props)
// were just stored with it Active for the first time.
func (r *run) notifyWelcome(s *Service, props map[string]string, at time.Time) {
	n := r.e.cfg.Notifier
	if n == nil {
		return
	}
	m := &billing.WelcomeMessage{
		ServiceID: s.ID, AccountID: s.AccountID, Owner: s.Owner, TariffID: s.TariffID,
		Module: s.Module, Properties: maps.Clone(props), ActivatedAt: at,
	}
	if t, err := r.e.cfg.Catalog.Tariff(s.TariffID); err == nil {
		m.TariffName, m.ProductType = t.Name, t.ProductType
	}
	// The password the customer ordered with (an Open; an Open completed
	// by staff runs as the same Open).
	m.Password = r.openRequest().Password
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if err := n.Welcome(ctx, m); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "welcome message not delivered", slog.String("service", s.ID), slog.Any("error", err))
	}
}

// notifyFailure sends the failures that need staff: a failed operation, a
// server taken out of sale after it failed, a manual task. It runs after
// every event (Engine.emit).
func (e *Engine) notifyFailure(ev Event) {
	n := e.cfg.Notifier
	if n == nil {
		return
	}
	var reason string
	switch ev.Type {
	case EventOperationFailed:
		reason = "operation failed: " + ev.Error
	case EventServerFailed:
		reason = "server " + ev.ServerID + " failed and was taken out of sale (disabled, reason in its notes): " + ev.Error
	case EventManualTask:
		if ev.Task == nil {
			return
		}
		reason = "manual task for " + ev.Task.Department + ": " + ev.Task.Reason
	default:
		return
	}
	var mod *billing.Module
	name := ev.Module
	if name != "" {
		mod, _ = e.cfg.Catalog.Module(name)
	}
	m := billing.NewFailureMessage(mod, ev.ServiceID, string(ev.Kind), ev.OperationID, reason, ev.Time)
	if mod == nil {
		m.Module = name
	}
	ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	if err := n.Failure(ctx, m); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "failure message not delivered", slog.String("service", ev.ServiceID),
			slog.String("operation", ev.OperationID), slog.Any("error", err))
	}
}
