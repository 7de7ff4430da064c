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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/internal/wait"
)

// Defaults of Config.
const (
	DefaultWorkers           = 4
	DefaultLeaseDuration     = 30 * time.Second
	DefaultInstallTimeout    = 720 * time.Second
	DefaultPowerTimeout      = 600 * time.Second
	DefaultReachTimeout      = 300 * time.Second
	DefaultPollInterval      = time.Second
	DefaultClaimInterval     = time.Second
	DefaultStepRetries       = 4
	DefaultMaxRetryDelay     = 30 * time.Second
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
	// InstallTimeout bounds the wait for an OS install, counted from the
	// moment the engine started it; default 720 s (the vendor's WHMCS
	// figure).
	InstallTimeout time.Duration
	// PowerTimeout bounds the wait for power-on; default 600 s.
	PowerTimeout time.Duration
	// ReachTimeout bounds the reachability check; default 300 s.
	ReachTimeout time.Duration
	// PollInterval is the shortest pause between the panel polls of a wait
	// (power-on, OS install, reachability), the pause between step retries
	// and the interval of Engine.Wait's Store polls; default 1 s. The
	// pauses of a wait are shaped by how long the module's last waits of
	// its kind lasted and by the progress the panel reports, never longer
	// than 2 minutes or a third of the expected length: the end of a wait
	// is noticed within max(PollInterval, 2 % of the wait) with a few polls
	// whatever its length.
	PollInterval time.Duration
	// Clock is the time of the operations: when waits begin and end,
	// the pauses between polls and step retries, the times recorded on
	// services and events. Default the wall clock. Leases, claims and
	// Engine.Wait always use the wall clock (the Store's). A test gives
	// the engine and its fake backends one fake clock to run a long wait
	// without sleeping.
	Clock Clock
	// ClaimInterval is how often idle Run workers look for work submitted
	// by other engines; default 1 s (work submitted to this engine wakes
	// them at once).
	ClaimInterval time.Duration
	// StepRetries is how many times a step that failed for a transient
	// reason (a transport error, HTTP 5xx or 429, a malformed or lost
	// answer, an expired session, a panel fault, a call in doubt) is
	// retried in place, after pauses that start at PollInterval and double
	// up to MaxRetryDelay; default 4. Negative means no retry. When they
	// are spent the run stops and the operation is resumed later (by Run
	// or Resume, after its lease): a transient fault never counts as a
	// failure of the server. A failure of the server itself (its install
	// failed, it did not power on or answer in time) is not retried in
	// place.
	StepRetries int
	// MaxRetryDelay caps the pause between the retries of a step; default
	// 30 s.
	MaxRetryDelay time.Duration
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
	// Reachability checks that an installed server answers, after the
	// panel reported its install finished. Default nil: the panel's own
	// "install finished" is the evidence and nothing is dialled, unless
	// ReachPorts names a port for the OS family.
	Reachability Reachability
	// ReachPorts, used when Reachability is nil, are the TCP ports dialled
	// on the main address of an installed server per OS family of its
	// template (OSFamilyOf): StandardReachPorts gives 22 for Linux and BSD
	// and 3389 for Windows. A family absent or mapped to 0 is not dialled.
	ReachPorts map[OSFamily]int
	// Logger receives the engine's structured log (steps, failures);
	// default discards.
	Logger *slog.Logger
	// OnManualTask is called (besides the EventManualTask event) when work
	// is handed to a department; staff report back with
	// Engine.CompleteManualTask or Engine.FailManualTask.
	OnManualTask func(billing.ManualTask)
	// Licenses is the licensing server that orders the ISPsystem licenses
	// of tariffs with a billing.Tariff.License (an upstream BILLmanager:
	// the bmlicense adapter). Required to open such tariffs.
	Licenses LicenseBackend
	// Notifier, when set, receives the customer's welcome message when a
	// service first becomes Active (its saved properties and the ordered
	// password) and a failure message, addressed to the module's
	// ErrorRecipient, for every failure that needs staff: a failed
	// operation, a server taken out of sale after it failed, a manual task.
	// It is called at most once per message, after the state it reports
	// was stored, on the goroutine running the operation; its errors are
	// logged and change nothing.
	Notifier billing.Notifier
}

// Clock is a time source: Now, and a channel that receives once a
// duration has passed on that clock.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Engine runs provisioning operations durably. It is safe for concurrent
// use. Create it with New.
type Engine struct {
	cfg   Config
	store Store
	clock Clock
	log   *slog.Logger
	slots chan struct{}
	kick  chan struct{}
	// Claim hints (worker.go): operations submitted here and not claimed
	// yet, and whether work of unknown extent may wait.
	hints     atomic.Int64
	searching atomic.Bool

	subMu  sync.RWMutex
	subs   map[int]func(Event)
	subSeq int

	pickMu  sync.Mutex
	pickers map[string]*picker // by module (pick.go)

	// runs are the Runs in progress (worker.go: handOff).
	runMu sync.Mutex
	runs  []*activeRun

	waitMu  sync.Mutex
	waiters map[string][]*waiter
	causes  map[string]error
	// running counts this engine's runs of each operation (Wait).
	running map[string]int

	// Test seams (set by export_test.go): beforeWrite runs before the
	// lease check of every panel write, leaseHook after every renewal,
	// waitHook after a Wait registered for a wake-up.
	beforeWrite func(opID, what string)
	leaseHook   func(opID string, err error)
	waitHook    func(opID string)

	expect expectations

	// templates are the OS templates a panel was seen to have
	// (gate.go: HasOSTemplate).
	templates templateMemo
}

// New validates cfg, fills in defaults and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, argErr("New", "Config.Store", "required")
	}
	if cfg.Catalog == nil {
		return nil, argErr("New", "Config.Catalog", "required")
	}
	if len(cfg.Dedicated)+len(cfg.Hosting) == 0 {
		return nil, argErr("New", "Config", "at least one Dedicated or Hosting backend is required")
	}
	for name, b := range cfg.Dedicated {
		if b == nil {
			return nil, argErr("New", "Config.Dedicated", "nil backend for module "+strconv.Quote(name))
		}
	}
	for name, b := range cfg.Hosting {
		if b == nil {
			return nil, argErr("New", "Config.Hosting", "nil backend for module "+strconv.Quote(name))
		}
	}
	for name, p := range cfg.IPPools {
		if p == nil {
			return nil, argErr("New", "Config.IPPools", "nil pool for module "+strconv.Quote(name))
		}
		if _, ok := cfg.Dedicated[name]; !ok {
			return nil, argErr("New", "Config.IPPools", "module "+strconv.Quote(name)+" has no dedicated backend")
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"LeaseDuration", cfg.LeaseDuration}, {"InstallTimeout", cfg.InstallTimeout}, {"PowerTimeout", cfg.PowerTimeout},
		{"ReachTimeout", cfg.ReachTimeout}, {"PollInterval", cfg.PollInterval}, {"ClaimInterval", cfg.ClaimInterval},
		{"MaxRetryDelay", cfg.MaxRetryDelay}} {
		if d.v < 0 {
			return nil, argErr("New", "Config."+d.name, "must not be negative")
		}
	}
	if cfg.Workers < 0 || cfg.MaxAttempts < 0 {
		return nil, argErr("New", "Config.Workers", "must not be negative")
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
	def(&cfg.MaxRetryDelay, DefaultMaxRetryDelay)
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
	for fam, port := range cfg.ReachPorts {
		if port < 0 || port > 65535 {
			return nil, argErr("New", "Config.ReachPorts", "port of "+string(fam)+" out of range")
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = wait.System
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{
		cfg:     cfg,
		store:   cfg.Store,
		clock:   cfg.Clock,
		log:     log.With(slog.String("worker", cfg.WorkerID)),
		slots:   make(chan struct{}, cfg.Workers),
		kick:    make(chan struct{}, 1),
		subs:    map[int]func(Event){},
		waiters: map[string][]*waiter{},
		running: map[string]int{},
		causes:  map[string]error{},
	}, nil
}

// DialSSH is a Reachability: a TCP dial to port 22 of the server's main
// IP (DialPort(22)).
func DialSSH(ctx context.Context, s Server) error { return DialPort(22)(ctx, s) }

// DialPort returns a Reachability that dials TCP port of the server's main
// IP.
func DialPort(port int) Reachability {
	p := strconv.Itoa(port)
	return func(ctx context.Context, s Server) error {
		if s.IP == "" {
			return errors.New("server has no main IP")
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(s.IP, p))
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// OSFamily is the family of an operating system, for Config.ReachPorts.
type OSFamily string

// OS families.
const (
	OSLinux   OSFamily = "linux"
	OSBSD     OSFamily = "bsd"
	OSWindows OSFamily = "windows"
)

// StandardReachPorts returns the usual remote-access ports: 22 (SSH) for
// Linux and BSD, 3389 (RDP) for Windows.
func StandardReachPorts() map[OSFamily]int {
	return map[OSFamily]int{OSLinux: 22, OSBSD: 22, OSWindows: 3389}
}

// OSFamilyOf guesses the family of an OS template from its name, as
// DCImanager names them ("ISPsystem__Debian-12-x86_64",
// "local__Windows-Server-2022"): a name containing "windows" (any case) is
// Windows, one containing "bsd" is BSD, any other Linux. The panels give
// no family with the template name an order carries, hence the guess.
func OSFamilyOf(template string) OSFamily {
	t := strings.ToLower(template)
	switch {
	case strings.Contains(t, "windows"):
		return OSWindows
	case strings.Contains(t, "bsd"):
		return OSBSD
	}
	return OSLinux
}

// reachability is the check an installed server of template goes
// through: Config.Reachability, else a dial of ReachPorts' port for the
// template's family; nil when none applies.
func (e *Engine) reachability(template string) Reachability {
	if e.cfg.Reachability != nil {
		return e.cfg.Reachability
	}
	if port := e.cfg.ReachPorts[OSFamilyOf(template)]; port > 0 {
		return DialPort(port)
	}
	return nil
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

// LoginURL returns a one-time panel login link for the service's user. It
// is not an operation: nothing is recorded.
func (e *Engine) LoginURL(ctx context.Context, serviceID string) (string, error) {
	svc, err := e.store.GetService(ctx, serviceID)
	if err != nil {
		return "", err
	}
	if svc.Properties[PropLogin] == "" {
		return "", fmt.Errorf("provision: service %s has no panel user yet: %w", serviceID, ErrServiceState)
	}
	p := productOf(svc.Kind)
	if p == nil || p.loginURL == nil {
		return "", fmt.Errorf("provision: login to a %s service: %w", svc.Kind, ErrUnsupported)
	}
	return p.loginURL(ctx, e, svc)
}

// modulesFor are the tariff's modules (Catalog.SelectModules order) that
// can serve product p here.
func (e *Engine) modulesFor(t *billing.Tariff, p *product) []*billing.Module {
	var out []*billing.Module
	for _, m := range e.cfg.Catalog.SelectModules(t) {
		if p.usable(e, m) {
			out = append(out, m)
		}
	}
	return out
}
