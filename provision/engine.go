package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/ispkit/ispkit/billing"
)

// Defaults of Config.
const (
	DefaultWorkers           = 4
	DefaultLeaseDuration     = 30 * time.Second
	DefaultInstallTimeout    = 720 * time.Second
	DefaultPowerTimeout      = 600 * time.Second
	DefaultReachTimeout      = 300 * time.Second
	DefaultPollInterval      = 5 * time.Second
	DefaultClaimInterval     = time.Second
	DefaultStepRetries       = 2
	DefaultMaxAttempts       = 5
	DefaultMaxServerFailures = 3
)

// Config configures an Engine. Store and Catalog are required, and at least
// one backend.
//
// Rate limits and the log of panel calls belong to the panel clients the
// adapters wrap: give each client its rate limit option and the same
// *slog.Logger as Config.Logger (the clients' WithLogger option) to get one
// structured log with every panel request next to the engine's step log.
type Config struct {
	// Store keeps operations, reservations and services. Several engines
	// may share one Store.
	Store Store
	// Catalog holds the modules and tariffs. Modules are tried in
	// Catalog.SelectModules order (lowest sort value first); a module
	// without a backend here is skipped.
	Catalog *billing.Catalog
	// Dedicated maps module names to dedicated-server backends
	// (DCImanager 5 or 6 adapters).
	Dedicated map[string]DedicatedBackend
	// Hosting maps module names to hosting backends (ISPmanager adapters).
	Hosting map[string]HostingBackend
	// IPPools maps module names to the IPmanager pool of modules that have
	// an IPmanager link (billing.Module.IPManager).
	IPPools map[string]IPPool
	// WorkerID names this engine's leases; default host name, process id
	// and a random suffix. Engines sharing a Store need distinct ids.
	WorkerID string
	// Workers bounds how many operations this engine runs at once (Run,
	// Resume and the synchronous helpers share the bound); default 4.
	Workers int
	// LeaseDuration is how long a claimed operation stays reserved for
	// this engine without renewal (renewed every third of it while
	// running); default 30 s. A crashed engine's operations become
	// claimable after it.
	LeaseDuration time.Duration
	// InstallTimeout bounds the wait for an OS install; default 720 s (the
	// vendor's WHMCS figure).
	InstallTimeout time.Duration
	// PowerTimeout bounds the wait for power-on; default 600 s.
	PowerTimeout time.Duration
	// ReachTimeout bounds the reachability check; default 300 s.
	ReachTimeout time.Duration
	// PollInterval is the pause between panel polls and between step
	// retries; default 5 s.
	PollInterval time.Duration
	// ClaimInterval is how often idle Run workers look for work submitted
	// by other engines; default 1 s (work submitted to this engine wakes
	// them at once).
	ClaimInterval time.Duration
	// StepRetries is how many times a failed step is retried before the
	// failure counts; default 2. Negative means no retry.
	StepRetries int
	// MaxAttempts is how many times an operation may be claimed (crashes,
	// lost leases) before it is rolled back and failed; default 5.
	MaxAttempts int
	// MaxServerFailures bounds how many servers one Open may fail on (each
	// is rolled back, disabled and kept out of sale): after that many the
	// order stops trying further servers and fails with ErrTooManyFailures,
	// the service staying Pending. It keeps one bad configuration (a wrong
	// OS template, a panel error) from taking the whole stock out of sale.
	// Default 3; negative means no bound.
	MaxServerFailures int
	// Reachability checks an installed server; default a TCP dial to port
	// 22 of its main IP.
	Reachability Reachability
	// Logger receives the engine's structured log (steps, failures);
	// default discards.
	Logger *slog.Logger
	// OnManualTask is called (besides the EventManualTask event) when work
	// is handed to a department; staff report back with
	// Engine.CompleteManualTask or Engine.FailManualTask.
	OnManualTask func(billing.ManualTask)
}

// Engine runs provisioning operations durably. It is safe for concurrent
// use. Create it with New.
type Engine struct {
	cfg   Config
	store Store
	log   *slog.Logger
	slots chan struct{}
	kick  chan struct{}

	subMu  sync.RWMutex
	subs   map[int]func(Event)
	subSeq int

	waitMu  sync.Mutex
	waiters map[string][]chan struct{}
	causes  map[string]error
}

// New validates cfg, fills in defaults and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, reqErr("Config.Store", "required")
	}
	if cfg.Catalog == nil {
		return nil, reqErr("Config.Catalog", "required")
	}
	if len(cfg.Dedicated)+len(cfg.Hosting) == 0 {
		return nil, reqErr("Config", "at least one Dedicated or Hosting backend is required")
	}
	for name, b := range cfg.Dedicated {
		if b == nil {
			return nil, reqErr("Config.Dedicated", "nil backend for module "+strconv.Quote(name))
		}
	}
	for name, b := range cfg.Hosting {
		if b == nil {
			return nil, reqErr("Config.Hosting", "nil backend for module "+strconv.Quote(name))
		}
	}
	for name, p := range cfg.IPPools {
		if p == nil {
			return nil, reqErr("Config.IPPools", "nil pool for module "+strconv.Quote(name))
		}
		if _, ok := cfg.Dedicated[name]; !ok {
			return nil, reqErr("Config.IPPools", "module "+strconv.Quote(name)+" has no dedicated backend")
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"LeaseDuration", cfg.LeaseDuration}, {"InstallTimeout", cfg.InstallTimeout}, {"PowerTimeout", cfg.PowerTimeout},
		{"ReachTimeout", cfg.ReachTimeout}, {"PollInterval", cfg.PollInterval}, {"ClaimInterval", cfg.ClaimInterval}} {
		if d.v < 0 {
			return nil, reqErr("Config."+d.name, "must not be negative")
		}
	}
	if cfg.Workers < 0 || cfg.MaxAttempts < 0 {
		return nil, reqErr("Config.Workers", "must not be negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.LeaseDuration, DefaultLeaseDuration)
	def(&cfg.InstallTimeout, DefaultInstallTimeout)
	def(&cfg.PowerTimeout, DefaultPowerTimeout)
	def(&cfg.ReachTimeout, DefaultReachTimeout)
	def(&cfg.PollInterval, DefaultPollInterval)
	def(&cfg.ClaimInterval, DefaultClaimInterval)
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.StepRetries == 0 {
		cfg.StepRetries = DefaultStepRetries
	} else if cfg.StepRetries < 0 {
		cfg.StepRetries = 0
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxServerFailures == 0 {
		cfg.MaxServerFailures = DefaultMaxServerFailures
	}
	if cfg.WorkerID == "" {
		host, _ := os.Hostname()
		cfg.WorkerID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomID()[:8])
	}
	if cfg.Reachability == nil {
		cfg.Reachability = DialSSH
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg:     cfg,
		store:   cfg.Store,
		log:     log.With(slog.String("worker", cfg.WorkerID)),
		slots:   make(chan struct{}, cfg.Workers),
		kick:    make(chan struct{}, 1),
		subs:    map[int]func(Event){},
		waiters: map[string][]chan struct{}{},
		causes:  map[string]error{},
	}, nil
}

// DialSSH is the default Reachability: a TCP dial to port 22 of the
// server's main IP.
func DialSSH(ctx context.Context, s Server) error {
	if s.IP == "" {
		return errors.New("server has no main IP")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.IP, "22"))
	if err != nil {
		return err
	}
	return c.Close()
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.store }

// WorkerID returns the id this engine leases operations under.
func (e *Engine) WorkerID() string { return e.cfg.WorkerID }

// Submit validates req, records the operation (and, for Open, the service
// in status Ordered) and queues it for Run workers; it does not wait. With a
// known req.OperationID it returns the existing operation (idempotent
// resubmission); the same id for a different service or kind is an
// ErrExists error.
func (e *Engine) Submit(ctx context.Context, req Request) (*Operation, error) {
	op, _, err := e.prepare(ctx, req, false)
	if err != nil {
		return nil, err
	}
	e.wake()
	return op, nil
}

// Do runs req to its end in the calling goroutine (the operation is leased
// to this engine as it is created) and returns the finished operation. A
// failed operation returns it with an *OperationError. When ctx ends first
// the operation stays unfinished, is finished by Run or Resume later, and
// the error wraps ErrInterrupted.
//
// With the OperationID of an operation that exists and is not finished, Do
// waits for it instead of running it a second time. Whoever holds its lease
// finishes it; if that process died, the operation is taken over only by an
// engine that claims work (Run or Resume), so a process that re-submits
// after a crash should call Resume first or keep Run going.
func (e *Engine) Do(ctx context.Context, req Request) (*Operation, error) {
	op, created, err := e.prepare(ctx, req, true)
	if err != nil {
		return nil, err
	}
	if op.State.Finished() {
		return op, e.opError(op)
	}
	if !created {
		// An existing operation (idempotent resubmission) that someone
		// else runs or will run: wait for it.
		e.wake()
		return e.Wait(ctx, op.ID)
	}
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return op, fmt.Errorf("%w: %w", ErrInterrupted, ctx.Err())
	}
	defer func() { <-e.slots }()
	return e.execute(ctx, op)
}

// doKind is Do with req.Kind set to kind (the helpers below).
func (e *Engine) doKind(ctx context.Context, kind OperationKind, req Request) (*Operation, error) {
	req.Kind = kind
	return e.Do(ctx, req)
}

// Open opens a service (Do with Kind OpOpen).
func (e *Engine) Open(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpOpen, req)
}

// Suspend suspends a service (Do with Kind OpSuspend).
func (e *Engine) Suspend(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpSuspend, req)
}

// Unsuspend resumes a suspended service (Do with Kind OpUnsuspend).
func (e *Engine) Unsuspend(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpUnsuspend, req)
}

// Close closes a service and releases its server or account (Do with Kind
// OpClose).
func (e *Engine) Close(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpClose, req)
}

// ChangePassword changes the panel user's password (Do with Kind
// OpChangePassword).
func (e *Engine) ChangePassword(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpChangePassword, req)
}

// AddIP adds an address to a dedicated server (Do with Kind OpAddIP).
func (e *Engine) AddIP(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpAddIP, req)
}

// RemoveIP removes an additional address from a dedicated server (Do with
// Kind OpRemoveIP).
func (e *Engine) RemoveIP(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpRemoveIP, req)
}

// Reinstall reinstalls a dedicated server's OS (Do with Kind OpReinstall).
func (e *Engine) Reinstall(ctx context.Context, req Request) (*Operation, error) {
	return e.doKind(ctx, OpReinstall, req)
}

// LoginURL returns a one-time panel login link for the service's user. It
// is not an operation: nothing is recorded.
func (e *Engine) LoginURL(ctx context.Context, serviceID string) (string, error) {
	svc, err := e.store.GetService(ctx, serviceID)
	if err != nil {
		return "", err
	}
	login := svc.Properties[PropLogin]
	if login == "" {
		return "", fmt.Errorf("provision: service %s has no panel user yet: %w", serviceID, ErrServiceState)
	}
	switch svc.Kind {
	case KindDedicated:
		b := e.cfg.Dedicated[svc.Module]
		if b == nil {
			return "", fmt.Errorf("provision: module %q: %w", svc.Module, ErrNoBackend)
		}
		return b.LoginURL(ctx, login)
	case KindHosting:
		b := e.cfg.Hosting[svc.Module]
		if b == nil {
			return "", fmt.Errorf("provision: module %q: %w", svc.Module, ErrNoBackend)
		}
		return b.LoginURL(ctx, login)
	}
	return "", fmt.Errorf("provision: login to a %s service: %w", svc.Kind, ErrUnsupported)
}

// prepare validates and records a request. With leased, the new operation
// is created already claimed by this engine (running, Attempts 1).
func (e *Engine) prepare(ctx context.Context, req Request, leased bool) (op *Operation, created bool, err error) {
	if req.OperationID != "" && req.Kind != "" {
		if op, err := e.store.GetOperation(ctx, req.OperationID); err == nil {
			if op.ServiceID != req.ServiceID || op.Kind != req.Kind {
				return nil, false, fmt.Errorf("provision: operation id %q is used by a %s of service %s: %w", req.OperationID, op.Kind, op.ServiceID, ErrExists)
			}
			return op, false, nil
		} else if !errors.Is(err, ErrNotFound) {
			return nil, false, err
		}
	}
	op, err = e.create(ctx, req, leased)
	if errors.Is(err, ErrExists) && req.OperationID != "" {
		return e.prepare(ctx, req, leased)
	}
	return op, err == nil, err
}

func (e *Engine) create(ctx context.Context, req Request, leased bool) (*Operation, error) {
	if err := req.validateFields(); err != nil {
		return nil, err
	}
	svc, err := e.store.GetService(ctx, req.ServiceID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if req.Kind == OpOpen {
		newSvc, err := e.validateOpen(req, svc)
		if err != nil {
			return nil, err
		}
		if svc == nil {
			if err := e.store.PutService(ctx, newSvc); err != nil && !errors.Is(err, ErrExists) {
				return nil, err
			}
		}
	} else {
		if svc == nil {
			return nil, fmt.Errorf("provision: service %q: %w", req.ServiceID, ErrNotFound)
		}
		if err := e.validateOnService(req, svc); err != nil {
			return nil, err
		}
	}
	busy, err := e.store.ListOperations(ctx, OperationFilter{ServiceID: req.ServiceID, States: []OperationState{StatePending, StateRunning}})
	if err != nil {
		return nil, err
	}
	if len(busy) > 0 {
		return nil, fmt.Errorf("provision: service %s: %s operation %s: %w", req.ServiceID, busy[0].Kind, busy[0].ID, ErrBusy)
	}
	op := &Operation{
		ID:        req.OperationID,
		ServiceID: req.ServiceID,
		Kind:      req.Kind,
		State:     StatePending,
		Step:      firstStep,
		Input:     req.input(),
		Data:      map[string]string{},
	}
	if op.ID == "" {
		op.ID = randomID()
	}
	if leased {
		op.State = StateRunning
		op.Worker = e.cfg.WorkerID
		op.LeaseUntil = time.Now().Add(e.cfg.LeaseDuration)
		op.Attempts = 1
	}
	if err := e.store.CreateOperation(ctx, op); err != nil {
		return nil, err
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "operation submitted", slog.String("op", op.ID), slog.String("service", op.ServiceID), slog.String("kind", string(op.Kind)))
	return op, nil
}

func (e *Engine) validateOpen(req Request, svc *Service) (*Service, error) {
	t, err := e.cfg.Catalog.Tariff(req.TariffID)
	if err != nil {
		return nil, fmt.Errorf("provision: tariff %d: %w", req.TariffID, err)
	}
	kind := serviceKindOf(t.ProductType)
	if svc != nil {
		if svc.Status != billing.StatusOrdered {
			return nil, fmt.Errorf("provision: open service %s in status %s: %w", svc.ID, svc.Status, ErrServiceState)
		}
		if svc.TariffID != req.TariffID {
			return nil, reqErr("TariffID", "differs from the existing service's tariff")
		}
	}
	opts, err := billing.ParseOrderOptions(req.Options)
	if err != nil {
		return nil, err
	}
	if _, err := t.Resolve(opts); err != nil {
		return nil, err
	}
	mods := e.cfg.Catalog.SelectModules(t)
	usable := 0
	for _, m := range mods {
		if kind == KindColocation || e.backendFor(kind, m.Name) {
			usable++
		}
	}
	if usable == 0 {
		return nil, fmt.Errorf("provision: tariff %d: %w", t.ID, ErrNoBackend)
	}
	switch kind {
	case KindDedicated:
		if billing.SanitizeUsername(req.Owner) == "" {
			return nil, reqErr("Owner", "required: a name with at least one ASCII letter or digit")
		}
		if req.Password == "" {
			return nil, reqErr("Password", "required")
		}
		if _, err := serverDomain(t, req.ServiceID, req.Owner, req.Domain, req.AccountID); err != nil {
			return nil, err
		}
	case KindHosting:
		if req.Password == "" {
			return nil, reqErr("Password", "required")
		}
		if _, err := hostingBaseName(t, req.ServiceID, req.Owner, req.Domain, req.AccountID); err != nil {
			return nil, err
		}
	}
	return &Service{
		ID:         req.ServiceID,
		Kind:       kind,
		TariffID:   req.TariffID,
		AccountID:  req.AccountID,
		Owner:      req.Owner,
		Status:     billing.StatusOrdered,
		Properties: map[string]string{},
	}, nil
}

// modulesWith are the tariff's modules (Catalog.SelectModules order) that
// have a backend for kind.
func (e *Engine) modulesWith(t *billing.Tariff, kind ServiceKind) []*billing.Module {
	var out []*billing.Module
	for _, m := range e.cfg.Catalog.SelectModules(t) {
		if e.backendFor(kind, m.Name) {
			out = append(out, m)
		}
	}
	return out
}

func (e *Engine) backendFor(kind ServiceKind, module string) bool {
	switch kind {
	case KindHosting:
		return e.cfg.Hosting[module] != nil
	default:
		return e.cfg.Dedicated[module] != nil
	}
}

func (e *Engine) validateOnService(req Request, svc *Service) error {
	st := svc.Status
	bad := func() error {
		return fmt.Errorf("provision: %s of service %s in status %s: %w", req.Kind, svc.ID, st, ErrServiceState)
	}
	if svc.Kind == KindColocation {
		return nil // every operation is a manual task
	}
	if svc.Kind == KindHosting {
		switch req.Kind {
		case OpAddIP, OpRemoveIP, OpReinstall:
			return fmt.Errorf("provision: %s on a hosting account: %w", req.Kind, ErrUnsupported)
		}
	}
	switch req.Kind {
	case OpSuspend, OpUnsuspend, OpChangePassword, OpAddIP, OpRemoveIP, OpReinstall:
		if st != billing.StatusActive && st != billing.StatusSuspended {
			return bad()
		}
	case OpClose:
		if st == billing.StatusProcessing {
			return bad()
		}
	}
	if req.Kind == OpReinstall && req.OSTemplate == "" && svc.Properties[PropOS] == "" {
		return reqErr("OSTemplate", "required: the service has no OS template recorded")
	}
	if req.Kind == OpRemoveIP {
		if req.IP == svc.Properties[PropIP] {
			return reqErr("IP", "is the server's main address")
		}
	}
	return nil
}

// Wait blocks until the operation is finished and returns it; a failed
// operation comes with an *OperationError. It polls the Store every
// PollInterval and wakes at once for operations run by this engine.
func (e *Engine) Wait(ctx context.Context, opID string) (*Operation, error) {
	for {
		ch := e.waitChan(opID)
		op, err := e.store.GetOperation(ctx, opID)
		if err != nil {
			e.dropWait(opID, ch)
			return nil, err
		}
		if op.State.Finished() {
			e.dropWait(opID, ch)
			return op, e.opError(op)
		}
		t := time.NewTimer(e.cfg.PollInterval)
		select {
		case <-ch:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			e.dropWait(opID, ch)
			return op, fmt.Errorf("provision: waiting for operation %s: %w", opID, ctx.Err())
		}
		t.Stop()
		e.dropWait(opID, ch)
	}
}

func (e *Engine) waitChan(id string) chan struct{} {
	ch := make(chan struct{})
	e.waitMu.Lock()
	e.waiters[id] = append(e.waiters[id], ch)
	e.waitMu.Unlock()
	return ch
}

func (e *Engine) dropWait(id string, ch chan struct{}) {
	e.waitMu.Lock()
	defer e.waitMu.Unlock()
	ws := e.waiters[id]
	for i, w := range ws {
		if w == ch {
			e.waiters[id] = append(ws[:i:i], ws[i+1:]...)
			break
		}
	}
	if len(e.waiters[id]) == 0 {
		delete(e.waiters, id)
	}
}

func (e *Engine) finished(op *Operation, cause error) {
	e.waitMu.Lock()
	if cause != nil {
		e.causes[op.ID] = cause
	}
	for _, ch := range e.waiters[op.ID] {
		close(ch)
	}
	delete(e.waiters, op.ID)
	e.waitMu.Unlock()
}

func (e *Engine) opError(op *Operation) error {
	if op.State != StateFailed {
		return nil
	}
	e.waitMu.Lock()
	cause := e.causes[op.ID]
	e.waitMu.Unlock()
	if cause == nil {
		cause = causeFromMessage(op.Error)
	}
	return &OperationError{OperationID: op.ID, ServiceID: op.ServiceID, Kind: op.Kind, Message: op.Error, Cause: cause}
}

func (e *Engine) wake() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run claims and runs operations with Workers goroutines until ctx ends,
// renewing each lease while the operation runs. Operations interrupted by
// the end of ctx stay unfinished, with their lease released, and are
// finished by the next Run or Resume, here or in another process, at once. Run returns nil after
// ctx ends and every worker has stopped, or the first Store error that is
// not ErrNoWork.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errc := make(chan error, e.cfg.Workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range e.cfg.Workers {
		wg.Go(func() {
			if err := e.workerLoop(ctx); err != nil {
				errc <- err
				cancel()
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

func (e *Engine) workerLoop(ctx context.Context) error {
	for {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		op, err := e.store.ClaimOperation(ctx, e.cfg.WorkerID, e.cfg.LeaseDuration)
		if err == nil {
			_, _ = e.execute(ctx, op)
			<-e.slots
			continue
		}
		<-e.slots
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, ErrNoWork) {
			e.log.LogAttrs(ctx, slog.LevelError, "claim failed", slog.Any("error", err))
		}
		t := time.NewTimer(e.cfg.ClaimInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-e.kick:
			e.wake() // let the other idle workers look too
		case <-t.C:
		}
		t.Stop()
	}
}

// Resume claims and finishes every operation that is unfinished and
// claimable now: operations submitted but never run, and those whose lease
// expired because their worker died. It runs up to Workers at once, returns
// when none is left, and reports Store errors (failed operations are
// recorded in the Store, not returned). Operations that are interrupted
// again stay unfinished.
func (e *Engine) Resume(ctx context.Context) error {
	var wg sync.WaitGroup
	var firstErr error
	var mu sync.Mutex
	seen := map[string]bool{}
	for {
		select {
		case e.slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		op, err := e.store.ClaimOperation(ctx, e.cfg.WorkerID, e.cfg.LeaseDuration)
		if err != nil {
			<-e.slots
			wg.Wait()
			if errors.Is(err, ErrNoWork) {
				mu.Lock()
				defer mu.Unlock()
				return firstErr
			}
			return err
		}
		if seen[op.ID] {
			// Interrupted in this Resume and claimable again at once (lease
			// released): stop rather than spin.
			<-e.slots
			_ = e.store.ReleaseLease(ctx, op.ID, e.cfg.WorkerID)
			wg.Wait()
			return firstErr
		}
		seen[op.ID] = true
		wg.Go(func() {
			defer func() { <-e.slots }()
			if _, err := e.execute(ctx, op); err != nil && errors.Is(err, ErrInterrupted) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
}
