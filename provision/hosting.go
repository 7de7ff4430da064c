package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/ispkit/ispkit/billing"
)

var hostingSteps = map[OperationKind]map[string]stepFunc{
	OpOpen: {
		firstStep:    hostingStart,
		"h_name":     hostingName,
		"h_create":   hostingCreate,
		"h_activate": hostingActivate,
	},
	OpSuspend: {
		firstStep: func(ctx context.Context, r *run) (string, error) {
			return hostingCall(ctx, r, billing.StatusSuspended, func(b HostingBackend, name string) error { return b.SuspendUser(ctx, name) })
		},
	},
	OpUnsuspend: {
		firstStep: func(ctx context.Context, r *run) (string, error) {
			return hostingCall(ctx, r, billing.StatusActive, func(b HostingBackend, name string) error { return b.ResumeUser(ctx, name) })
		},
	},
	OpClose: {
		firstStep: hostingClose,
	},
	OpChangePassword: {
		firstStep: func(ctx context.Context, r *run) (string, error) {
			return hostingCall(ctx, r, "", func(b HostingBackend, name string) error { return b.SetPassword(ctx, name, r.op.Input[inPassword]) })
		},
	},
}

// hostingBaseName is the account name before collision suffixes: the
// tariff's username template (default @USERNAME@) expanded, reduced to
// ASCII letters and digits, lower-cased and cut to 16 characters.
func hostingBaseName(t *billing.Tariff, serviceID, owner, domain string, accountID int64) (string, error) {
	tmpl := t.UsernameTemplate
	if tmpl == "" {
		tmpl = billing.MacroUsername
	}
	name, err := billing.ExpandTemplate(tmpl, billing.MacroVars{
		Username: billing.SanitizeUsername(owner), Domain: domain, ID: numericID(serviceID), AccountID: accountID, Type: string(t.ProductType),
	})
	if err != nil {
		return "", err
	}
	name = strings.ToLower(billing.SanitizeUsername(name))
	if name == "" {
		return "", reqErr("Owner", "the username template gives an empty name")
	}
	return name, nil
}

// hostingModules are the tariff's modules with a hosting backend, in
// Catalog.SelectModules order (lowest sort value first).
func (e *Engine) hostingModules(t *billing.Tariff) []*billing.Module {
	return e.modulesWith(t, KindHosting)
}

// hostingTarget is the module an hosting Open works with: the one recorded
// in Data[module] (so a resumed operation never changes module half-way),
// else the first module of the tariff not tried yet (Data[modules_tried]).
func (r *run) hostingTarget(ctx context.Context) (*billing.Module, HostingBackend, *billing.Tariff, *Service, error) {
	t, svc, err := r.loadTariff(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	mods := r.e.hostingModules(t)
	tried := splitList(r.op.Data[dModsTried])
	for i, m := range mods {
		if cur := r.op.Data[dModule]; cur != "" && m.Name != cur || cur == "" && slices.Contains(tried, m.Name) {
			continue
		}
		r.op.Data[dModule] = m.Name
		r.op.Data[dModIdx] = strconv.Itoa(i)
		return m, r.e.cfg.Hosting[m.Name], t, svc, nil
	}
	if cur := r.op.Data[dModule]; cur != "" {
		return nil, nil, nil, nil, permanent(fmt.Errorf("module %q of this operation: %w", cur, ErrNoBackend))
	}
	return nil, nil, nil, nil, permanent(fmt.Errorf("tariff %d: %w", t.ID, ErrNoBackend))
}

// nextHostingModule gives up the current module of a hosting Open after a
// module fault (nothing was created there) and moves to the next module of
// the tariff; ok is false when none is left.
func (r *run) nextHostingModule(fault error) (string, bool) {
	cur := r.op.Data[dModule]
	if r.tariff == nil || cur == "" {
		return "", false
	}
	tried := append(splitList(r.op.Data[dModsTried]), cur)
	for _, m := range r.e.hostingModules(r.tariff) {
		if slices.Contains(tried, m.Name) {
			continue
		}
		r.op.Data[dModsTried] = strings.Join(tried, ",")
		r.op.Data[dModFaults] = strings.TrimPrefix(r.op.Data[dModFaults]+"; "+cur+": "+fault.Error(), "; ")
		for _, k := range []string{dModule, dName, dNameTry, dCreateSent} {
			delete(r.op.Data, k)
		}
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "hosting module failed, trying the next one",
			slog.String("module", cur), slog.String("next", m.Name), slog.Any("error", fault))
		return "h_name", true
	}
	return "", false
}

// moduleFault is a failure of the hosting module itself, not of the
// customer's request: after the step's retries, Open tries the next module.
type moduleFault struct{ err error }

func (m *moduleFault) Error() string { return m.err.Error() }
func (m *moduleFault) Unwrap() error { return m.err }

// createInDoubt: the account may have been created and the panel cannot
// tell now. The run is interrupted (nothing else may happen before the
// panel answers) and the operation resumed later.
type createInDoubt struct{ err error }

func (c *createInDoubt) Error() string { return c.err.Error() }
func (c *createInDoubt) Unwrap() error { return c.err }

// isPanelFault reports whether err is the hosting panel's own failure, for
// which another module may serve the order: ErrPanelUnavailable, or what
// the backend's FaultClassifier says. A value error, a name collision or
// anything else is the request's and is not.
func isPanelFault(b HostingBackend, err error) bool {
	if errors.Is(err, ErrPanelUnavailable) {
		return true
	}
	if fc, ok := b.(FaultClassifier); ok {
		return fc.IsPanelFault(err)
	}
	return false
}

// mayHaveCreated reports whether a failed create may still have created
// the account. ErrPanelUnavailable says it did not; a backend without a
// FaultClassifier is assumed unsure.
func mayHaveCreated(b HostingBackend, err error) bool {
	if errors.Is(err, ErrPanelUnavailable) {
		return false
	}
	if fc, ok := b.(FaultClassifier); ok {
		return fc.MayHaveHappened(err)
	}
	return true
}

func hostingStart(ctx context.Context, r *run) (string, error) { return r.startOpen(ctx, "h_name") }

// hostingName picks the first free candidate name (base, base1, base2, …
// within 16 characters), starting after the ones that collided before.
func hostingName(ctx context.Context, r *run) (string, error) {
	if r.op.Data[dName] != "" {
		return "h_create", nil
	}
	m, b, t, svc, err := r.hostingTarget(ctx)
	if err != nil {
		return "", err
	}
	base, err := hostingBaseName(t, svc.ID, svc.Owner, r.op.Input[inDomain], svc.AccountID)
	if err != nil {
		return "", permanent(err)
	}
	from, _ := strconv.Atoi(r.op.Data[dNameTry])
	for n := from; n < billing.MaxNameAttempts; n++ {
		c := billing.NextCandidate(base, n, billing.MaxUsernameLen)
		if c == "" {
			break
		}
		taken, err := b.UserExists(ctx, c)
		if err != nil {
			if isPanelFault(b, err) {
				return "", &moduleFault{fmt.Errorf("module %s: %w", m.Name, err)}
			}
			return "", err
		}
		if !taken {
			r.op.Data[dName] = c
			r.op.Data[dNameTry] = strconv.Itoa(n)
			r.op.Data[dModule] = m.Name
			return "h_create", nil
		}
	}
	return "", permanent(&billing.ExhaustedError{Base: base, Attempts: billing.MaxNameAttempts})
}

// hostingCreate records the intent, then creates the account. After a
// crash between the two, an existing account with the recorded name is
// taken as this operation's own.
func hostingCreate(ctx context.Context, r *run) (string, error) {
	m, b, t, _, err := r.hostingTarget(ctx)
	if err != nil {
		return "", err
	}
	name := r.op.Data[dName]
	if r.op.Data[dCreateSent] == "" {
		r.op.Data[dCreateSent] = "1"
		r.createSent = true
		return "h_create", nil // checkpoint the intent
	}
	if !r.createSent {
		// An earlier attempt may have created it: look first.
		exists, err := b.UserExists(ctx, name)
		if err != nil {
			return "", &createInDoubt{fmt.Errorf("module %s: is account %q there: %w", m.Name, name, err)}
		}
		if exists {
			return "h_activate", nil
		}
		r.createSent = true
	}
	limits := t.Limits
	if t.AccountTemplate != "" {
		pl, err := b.PresetLimits(ctx, t.AccountTemplate)
		if err != nil {
			err = fmt.Errorf("module %s: read template %q: %w", m.Name, t.AccountTemplate, err)
			if isPanelFault(b, err) {
				return "", &moduleFault{err}
			}
			return "", err
		}
		tl, err := billing.LimitsFrom(pl)
		if err != nil {
			return "", permanent(err)
		}
		limits = billing.MergeLimits(tl, t.Limits)
	}
	err = b.CreateUser(ctx, HostingAccount{
		Name: name, Password: r.op.Input[inPassword], Preset: t.AccountTemplate,
		Limits: limits.Params(), Domain: r.op.Input[inDomain],
	})
	if err != nil {
		if b.IsNameTaken(err) {
			n, _ := strconv.Atoi(r.op.Data[dNameTry])
			r.op.Data[dNameTry] = strconv.Itoa(n + 1)
			delete(r.op.Data, dName)
			delete(r.op.Data, dCreateSent)
			return "h_name", nil
		}
		// Created after all (an answer lost on the way)?
		exists, xerr := b.UserExists(ctx, name)
		switch {
		case xerr == nil && exists:
			return "h_activate", nil
		case xerr != nil && mayHaveCreated(b, err):
			r.createSent = false // the next try looks first
			return "", &createInDoubt{fmt.Errorf("module %s: create account %q: %w; checking it: %w", m.Name, name, err, xerr)}
		}
		err = fmt.Errorf("module %s: create account %q: %w", m.Name, name, err)
		if isPanelFault(b, err) {
			return "", &moduleFault{err} // not created: another module may serve
		}
		return "", permanent(err)
	}
	return "h_activate", nil
}

func hostingActivate(ctx context.Context, r *run) (string, error) {
	_, err := r.updateService(ctx, func(s *Service) error {
		s.Module = r.op.Data[dModule]
		s.Properties[PropLogin] = r.op.Data[dName]
		if d := r.op.Input[inDomain]; d != "" {
			s.Properties[PropDomain] = d
		}
		return r.transition(s, billing.StatusActive)
	})
	if err != nil {
		return "", err
	}
	return stepDone, nil
}

func (r *run) hostingService(ctx context.Context) (HostingBackend, *Service, error) {
	svc, err := r.e.store.GetService(ctx, r.op.ServiceID)
	if err != nil {
		return nil, nil, err
	}
	b := r.e.cfg.Hosting[svc.Module]
	if b == nil {
		return nil, nil, permanent(fmt.Errorf("module %q: %w", svc.Module, ErrNoBackend))
	}
	return b, svc, nil
}

func hostingCall(ctx context.Context, r *run, status billing.Status, call func(HostingBackend, string) error) (string, error) {
	b, svc, err := r.hostingService(ctx)
	if err != nil {
		return "", err
	}
	if err := call(b, svc.Properties[PropLogin]); err != nil {
		return "", err
	}
	if status != "" {
		if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, status) }); err != nil {
			return "", err
		}
	}
	return stepDone, nil
}

func hostingClose(ctx context.Context, r *run) (string, error) {
	svc, err := r.e.store.GetService(ctx, r.op.ServiceID)
	if err != nil {
		return "", err
	}
	if svc.Status == billing.StatusDeleted {
		return stepDone, nil
	}
	if name := svc.Properties[PropLogin]; name != "" {
		b, _, err := r.hostingService(ctx)
		if err != nil {
			return "", err
		}
		exists, err := b.UserExists(ctx, name)
		if err != nil {
			return "", err
		}
		if exists {
			if err := b.DeleteUser(ctx, name); err != nil {
				return "", err
			}
		}
	}
	if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, billing.StatusDeleted) }); err != nil {
		return "", err
	}
	return stepDone, nil
}

// colocationSteps: every operation on a colocation service is a manual
// task for the department of the tariff's first module.
var colocationSteps = map[string]stepFunc{
	firstStep: func(ctx context.Context, r *run) (string, error) {
		t, _, err := r.loadTariff(ctx)
		if err != nil {
			return "", err
		}
		mods := r.e.cfg.Catalog.SelectModules(t)
		if len(mods) == 0 {
			return "", permanent(fmt.Errorf("tariff %d: %w", t.ID, ErrNoBackend))
		}
		reason := billing.ReasonColocation + ": " + string(r.op.Kind)
		r.op.Data[dModule] = mods[0].Name
		r.manualTask(mods[0], reason)
		return "manual", nil
	},
	"manual": func(ctx context.Context, r *run) (string, error) {
		_, err := r.updateService(ctx, func(s *Service) error {
			s.Module = r.op.Data[dModule]
			s.Properties[PropManualTask] = r.op.Data[dManual]
			if r.op.Kind == OpOpen {
				return r.transition(s, billing.StatusProcessing)
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrServiceState) {
			return "", err
		}
		return stepDone, nil
	},
}
