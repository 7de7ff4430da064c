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

// The hosting product (ISPmanager accounts): its step graphs and steps.
//
// Open creates the account named by the tariff's username template
// (default @USERNAME@, reduced to lower-case letters and digits, ≤ 16
// characters; collisions get a numeric suffix, also when the panel says
// "exists" on create) from the account template with
// billing.MergeLimits(template, tariff). It uses the tariff's modules in
// Catalog.SelectModules order and moves to the next module when the
// current one fails for a reason that is not the customer's — never on a
// name collision, and never while the account may exist: after a failed
// create it asks UserExists first, takes an existing account as its own,
// and interrupts the run (to resume later) when the panel cannot tell.

var (
	hName     = step{"h_name"}
	hCreate   = step{"h_create"}
	hActivate = step{"h_activate"}
)

// HostingState is what an operation on a hosting account records
// (Operation.Data of the hosting product).
type HostingState struct {
	CommonState
	// ModuleIndex is the position of Module among the tariff's hosting
	// modules.
	ModuleIndex int `json:"module_index,omitempty"`
	// ModulesTried are the modules Open gave up after a panel fault, and
	// ModuleFaults why ("module: error").
	ModulesTried []string `json:"modules_tried,omitempty"`
	ModuleFaults []string `json:"module_faults,omitempty"`
	// Name is the account name chosen; NameTry the candidate number it
	// came from (base, base1, base2, …).
	Name    string `json:"name,omitempty"`
	NameTry int    `json:"name_try,omitempty"`
	// CreateSent: the creation of Name may have been sent (the intent is
	// recorded before the call).
	CreateSent bool `json:"create_sent,omitempty"`
	// sentHere: this run sent the creation (so the account, if any, is
	// its own without looking).
	sentHere bool
}

func hostingFromV1(st ProductState, m map[string]string) {
	h := st.(*HostingState)
	h.ModuleIndex, _ = strconv.Atoi(m["module_index"])
	h.ModulesTried = splitList(m["modules_tried"])
	if f := m["module_faults"]; f != "" {
		h.ModuleFaults = []string{f}
	}
	h.Name = m["name"]
	h.NameTry, _ = strconv.Atoi(m["name_try"])
	h.CreateSent = m["create_sent"] != ""
}

func hostingProduct() *product {
	k := KindHosting
	// A panel fault moves an Open to the next module; a create that may
	// have happened interrupts the run until the panel can tell.
	openPolicy := map[Phase]policy{
		PhasePrepare: {by: map[faultClass]action{classPanel: nextModule, classInDoubt: retryLater}, otherwise: failOp},
		PhaseServer:  {by: map[faultClass]action{classPanel: nextModule, classInDoubt: retryLater}, otherwise: failOp},
		PhaseRecord:  {otherwise: retryLater},
	}
	failing := map[Phase]policy{}
	open := newGraph(k, OpOpen, openPolicy,
		stepDef{name: dStart, phase: PhasePrepare, fn: on(hostingStart), next: goesTo(hName, stepDone),
			doc: "service Ordered → Processing (an Active one is done)"},
		stepDef{name: hName, phase: PhasePrepare, fn: on(hostingName), next: goesTo(hCreate),
			doc: "the module (recorded, else the first not given up) and the first free name"},
		stepDef{name: hCreate, phase: PhaseServer, fn: on(hostingCreate), next: goesTo(hCreate, hName, hActivate),
			doc: "record the intent, then create the account (a collision: next name)"},
		stepDef{name: hActivate, phase: PhaseRecord, fn: on(hostingActivate), next: goesTo(stepDone),
			doc: "login and domain saved on the service, service Active, welcome"},
	)
	open.nextModule = nextHostingModule
	call := func(kind OperationKind, doc string, fn func(ctx context.Context, r *run, h *HostingState) (step, error)) *graph {
		return newGraph(k, kind, failing,
			stepDef{name: dStart, phase: PhaseServer, fn: on(fn), next: goesTo(stepDone), doc: doc})
	}
	return &product{
		kind:         k,
		productTypes: []billing.ProductType{billing.ProductSharedHosting, billing.ProductExternalFTPStorage},
		newState:     func() ProductState { return &HostingState{} },
		fromV1:       hostingFromV1,
		graphs: map[OperationKind]*graph{
			OpOpen:           open,
			OpSuspend:        call(OpSuspend, "suspend the account, service Suspended", hostingSuspend),
			OpUnsuspend:      call(OpUnsuspend, "resume the account, service Active", hostingResume),
			OpClose:          call(OpClose, "delete the account (when there), service Deleted", hostingClose),
			OpChangePassword: call(OpChangePassword, "the account's password", hostingPassword),
		},
		usable: func(e *Engine, m *billing.Module) bool { return e.cfg.Hosting[m.Name] != nil },
		checkOpen: func(e *Engine, req OpenRequest, t *billing.Tariff) error {
			if req.Password == "" {
				return reqArg(req, "Password", "required")
			}
			_, err := hostingBaseName(t, req.ServiceID, req.Owner, req.Domain, req.AccountID)
			return err
		},
		check: func(e *Engine, req Request, svc *Service) error { return checkStatus(req, svc) },
		loginURL: func(ctx context.Context, e *Engine, svc *Service) (string, error) {
			b := e.cfg.Hosting[svc.Module]
			if b == nil {
				return "", fmt.Errorf("provision: module %q: %w", svc.Module, ErrNoBackend)
			}
			return b.LoginURL(ctx, svc.Properties[PropLogin])
		},
	}
}

// ErrDiskQuotasOff is matched (errors.Is) by the error of a hosting Open
// whose panel is ISPmanager Lite with disk quotas off. The vendor's
// integration guide ("Settings in ISPmanager") requires them on Lite: the
// panel otherwise ignores the disk limit of every account it creates. The
// Open fails before anything is created; turn quotas on (ISPmanager's "Set
// disk quotas") and order again.
var ErrDiskQuotasOff = errors.New("provision: ISPmanager Lite has disk quotas off; turn them on before selling accounts")

// CreatePreflight is implemented by a HostingBackend that checks its panel
// before an account is created (the ispmgr adapter: disk quotas on
// ISPmanager Lite). The engine calls CheckCreate before it reads the
// template or creates anything; an error matching ErrDiskQuotasOff (or
// ErrInvalidRequest) fails the Open, any other error is handled as the
// failed panel read it is (retried, or the next module after a panel
// fault).
type CreatePreflight interface {
	CheckCreate(ctx context.Context) error
}

// hostingPreflight runs b's CreatePreflight, if any.
func hostingPreflight(ctx context.Context, m *billing.Module, b hostingGate) error {
	pf, ok := b.b.(CreatePreflight)
	if !ok {
		return nil
	}
	err := b.r.read(ctx, "CheckCreate", pf.CheckCreate)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrDiskQuotasOff), errors.Is(err, ErrInvalidRequest):
		return permanent(fmt.Errorf("module %s: %w", m.Name, err))
	case isPanelFault(b.b, err):
		return &panelFault{fmt.Errorf("module %s: check the panel: %w", m.Name, err)}
	}
	return fmt.Errorf("module %s: check the panel: %w", m.Name, err)
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
		return "", argErr("Open", "OpenRequest.Owner", "the username template gives an empty name")
	}
	return name, nil
}

// hostingTarget is the module a hosting Open works with: the one recorded
// (so a resumed operation never changes module half-way), else the first
// module of the tariff not given up yet.
func (r *run) hostingTarget(ctx context.Context, h *HostingState) (*billing.Module, hostingGate, *billing.Tariff, *Service, error) {
	t, svc, err := r.loadTariff(ctx)
	if err != nil {
		return nil, hostingGate{}, nil, nil, err
	}
	for i, m := range r.e.modulesFor(t, r.prod) {
		if cur := h.Module; cur != "" && m.Name != cur || cur == "" && slices.Contains(h.ModulesTried, m.Name) {
			continue
		}
		h.Module, h.ModuleIndex = m.Name, i
		return m, r.hosting(r.e.cfg.Hosting[m.Name]), t, svc, nil
	}
	if cur := h.Module; cur != "" {
		return nil, hostingGate{}, nil, nil, permanent(fmt.Errorf("module %q of this operation: %w", cur, ErrNoBackend))
	}
	return nil, hostingGate{}, nil, nil, permanent(fmt.Errorf("tariff %d: %w", t.ID, ErrNoBackend))
}

// nextHostingModule gives up the current module of a hosting Open after a
// panel fault (nothing was created there) and moves to the next module of
// the tariff; ok is false when none is left.
func nextHostingModule(r *run, st ProductState, fault error) (step, bool) {
	h := st.(*HostingState)
	cur := h.Module
	if r.tariff == nil || cur == "" {
		return step{}, false
	}
	tried := append(slices.Clone(h.ModulesTried), cur)
	for _, m := range r.e.modulesFor(r.tariff, r.prod) {
		if slices.Contains(tried, m.Name) {
			continue
		}
		h.ModulesTried = tried
		h.ModuleFaults = append(h.ModuleFaults, cur+": "+fault.Error())
		h.Module, h.Name, h.NameTry, h.CreateSent = "", "", 0, false
		r.log.LogAttrs(context.Background(), slog.LevelWarn, "hosting module failed, trying the next one",
			slog.String("module", cur), slog.String("next", m.Name), slog.Any("error", fault))
		return hName, true
	}
	return step{}, false
}

func hostingStart(ctx context.Context, r *run, _ *HostingState) (step, error) {
	return r.startOpen(ctx, hName)
}

// hostingName picks the first free candidate name (base, base1, base2, …
// within 16 characters), starting after the ones that collided before.
func hostingName(ctx context.Context, r *run, h *HostingState) (step, error) {
	if h.Name != "" {
		return hCreate, nil
	}
	m, b, t, svc, err := r.hostingTarget(ctx, h)
	if err != nil {
		return step{}, err
	}
	base, err := hostingBaseName(t, svc.ID, svc.Owner, r.openRequest().Domain, svc.AccountID)
	if err != nil {
		return step{}, permanent(err)
	}
	for n := h.NameTry; n < billing.MaxNameAttempts; n++ {
		c := billing.NextCandidate(base, n, billing.MaxUsernameLen)
		if c == "" {
			break
		}
		taken, err := b.UserExists(ctx, c)
		if err != nil {
			if isPanelFault(b.b, err) {
				return step{}, &panelFault{fmt.Errorf("module %s: %w", m.Name, err)}
			}
			return step{}, err
		}
		if !taken {
			h.Name, h.NameTry, h.Module = c, n, m.Name
			return hCreate, nil
		}
	}
	return step{}, permanent(&billing.ExhaustedError{Base: base, Attempts: billing.MaxNameAttempts})
}

// hostingCreate records the intent, then creates the account. After a
// crash between the two, an existing account with the recorded name is
// taken as this operation's own.
func hostingCreate(ctx context.Context, r *run, h *HostingState) (step, error) {
	m, b, t, _, err := r.hostingTarget(ctx, h)
	if err != nil {
		return step{}, err
	}
	name := h.Name
	if !h.CreateSent {
		// Before the intent: a panel that cannot hold the account as sold
		// fails the Open with nothing created.
		if err := hostingPreflight(ctx, m, b); err != nil {
			return step{}, err
		}
		h.CreateSent, h.sentHere = true, true
		return hCreate, nil // checkpoint the intent
	}
	if !h.sentHere {
		// An earlier attempt may have created it: look first.
		exists, err := b.UserExists(ctx, name)
		if err != nil {
			return step{}, &inDoubtError{fmt.Errorf("module %s: is account %q there: %w", m.Name, name, err)}
		}
		if exists {
			return hActivate, nil
		}
		h.sentHere = true
	}
	limits := t.Limits
	if t.AccountTemplate != "" {
		pl, err := b.PresetLimits(ctx, t.AccountTemplate)
		if err != nil {
			err = fmt.Errorf("module %s: read template %q: %w", m.Name, t.AccountTemplate, err)
			if isPanelFault(b.b, err) {
				return step{}, &panelFault{err}
			}
			return step{}, err
		}
		tl, err := billing.LimitsFrom(pl)
		if err != nil {
			return step{}, permanent(err)
		}
		limits = billing.MergeLimits(tl, t.Limits)
	}
	req := r.openRequest()
	err = b.CreateUser(ctx, HostingAccount{
		Name: name, Password: req.Password, Preset: t.AccountTemplate,
		Limits: limits.Params(), Domain: req.Domain,
	})
	if err != nil {
		if b.b.IsNameTaken(err) {
			h.NameTry++
			h.Name, h.CreateSent = "", false
			return hName, nil
		}
		// Created after all (an answer lost on the way)?
		exists, xerr := b.UserExists(ctx, name)
		switch {
		case xerr == nil && exists:
			return hActivate, nil
		case xerr != nil && mayHaveHappened(b.b, err):
			h.sentHere = false // the next try looks first
			return step{}, &inDoubtError{fmt.Errorf("module %s: create account %q: %w; checking it: %w", m.Name, name, err, xerr)}
		}
		err = fmt.Errorf("module %s: create account %q: %w", m.Name, name, err)
		if isPanelFault(b.b, err) {
			return step{}, &panelFault{err} // not created: another module may serve
		}
		return step{}, permanent(err)
	}
	return hActivate, nil
}

func hostingActivate(ctx context.Context, r *run, h *HostingState) (step, error) {
	_, err := r.updateService(ctx, func(s *Service) error {
		s.Module = h.Module
		s.Properties[PropLogin] = h.Name
		if d := r.openRequest().Domain; d != "" {
			s.Properties[PropDomain] = d
		}
		return r.transition(s, billing.StatusActive)
	})
	if err != nil {
		return step{}, err
	}
	return stepDone, nil
}

// hostingService is the backend of an opened hosting service.
func (r *run) hostingService(ctx context.Context) (hostingGate, *Service, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return hostingGate{}, nil, err
	}
	b := r.e.cfg.Hosting[svc.Module]
	if b == nil {
		return hostingGate{}, nil, permanent(fmt.Errorf("module %q: %w", svc.Module, ErrNoBackend))
	}
	return r.hosting(b), svc, nil
}

// hostingCall runs call on the service's account, then moves the service
// to status (when not empty).
func hostingCall(ctx context.Context, r *run, status billing.Status, call func(hostingGate, string) error) (step, error) {
	b, svc, err := r.hostingService(ctx)
	if err != nil {
		return step{}, err
	}
	if err := call(b, svc.Properties[PropLogin]); err != nil {
		return step{}, err
	}
	if status != "" {
		if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, status) }); err != nil {
			return step{}, err
		}
	}
	return stepDone, nil
}

func hostingSuspend(ctx context.Context, r *run, _ *HostingState) (step, error) {
	return hostingCall(ctx, r, billing.StatusSuspended, func(b hostingGate, name string) error { return b.SuspendUser(ctx, name) })
}

func hostingResume(ctx context.Context, r *run, _ *HostingState) (step, error) {
	return hostingCall(ctx, r, billing.StatusActive, func(b hostingGate, name string) error { return b.ResumeUser(ctx, name) })
}

func hostingPassword(ctx context.Context, r *run, _ *HostingState) (step, error) {
	req, _ := r.req.(ChangePasswordRequest)
	return hostingCall(ctx, r, "", func(b hostingGate, name string) error { return b.SetPassword(ctx, name, req.Password) })
}

func hostingClose(ctx context.Context, r *run, _ *HostingState) (step, error) {
	svc, err := r.service(ctx)
	if err != nil {
		return step{}, err
	}
	if svc.Status == billing.StatusDeleted {
		return stepDone, nil
	}
	if name := svc.Properties[PropLogin]; name != "" {
		b, _, err := r.hostingService(ctx)
		if err != nil {
			return step{}, err
		}
		exists, err := b.UserExists(ctx, name)
		if err != nil {
			return step{}, err
		}
		if exists {
			if err := b.DeleteUser(ctx, name); err != nil {
				return step{}, err
			}
		}
	}
	if _, err := r.updateService(ctx, func(s *Service) error { return r.transition(s, billing.StatusDeleted) }); err != nil {
		return step{}, err
	}
	return stepDone, nil
}
