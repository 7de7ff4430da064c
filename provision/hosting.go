package provision

import (
	"context"
	"errors"
	"fmt"
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

func (e *Engine) hostingModules(t *billing.Tariff) []*billing.Module {
	var out []*billing.Module
	for _, m := range e.cfg.Catalog.SelectModules(t) {
		if e.cfg.Hosting[m.Name] != nil {
			out = append(out, m)
		}
	}
	return out
}

func (r *run) hostingTarget(ctx context.Context) (*billing.Module, HostingBackend, *billing.Tariff, *Service, error) {
	t, svc, err := r.loadTariff(ctx)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	mods := r.e.hostingModules(t)
	idx, _ := strconv.Atoi(r.op.Data[dModIdx])
	if idx >= len(mods) {
		return nil, nil, nil, nil, permanent(fmt.Errorf("tariff %d: %w", t.ID, ErrNoBackend))
	}
	return mods[idx], r.e.cfg.Hosting[mods[idx].Name], t, svc, nil
}

func hostingStart(ctx context.Context, r *run) (string, error) {
	_, svc, err := r.loadTariff(ctx)
	if err != nil {
		return "", err
	}
	if svc.Status == billing.StatusActive {
		return stepDone, nil
	}
	if _, err := r.updateService(ctx, func(s *Service) error {
		if s.Status != billing.StatusOrdered && s.Status != billing.StatusProcessing {
			return permanent(fmt.Errorf("open service in status %s: %w", s.Status, ErrServiceState))
		}
		s.Error = ""
		return r.transition(s, billing.StatusProcessing)
	}); err != nil {
		return "", err
	}
	if r.op.Data[dModIdx] == "" {
		r.op.Data[dModIdx] = "0"
	}
	return "h_name", nil
}

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
	_, b, t, _, err := r.hostingTarget(ctx)
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
		exists, err := b.UserExists(ctx, name)
		if err != nil {
			return "", err
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
			return "", fmt.Errorf("read template %q: %w", t.AccountTemplate, err)
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
		return "", permanent(fmt.Errorf("create account %q: %w", name, err))
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
