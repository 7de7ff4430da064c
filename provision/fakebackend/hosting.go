package fakebackend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ispkit/ispkit/provision"
)

// ErrNameTaken is the hosting fake's "user exists" error.
var ErrNameTaken = errors.New("fakebackend: user exists")

// Hosting is a fake ISPmanager.
type Hosting struct {
	mu      sync.Mutex
	users   map[string]*Account
	presets map[string]map[string]string
	// Shadow lists names that UserExists reports free but CreateUser
	// refuses (a concurrent creation elsewhere).
	Shadow []string
	calls  atomic.Int64
	// AfterCall, when set, runs after every successful call.
	AfterCall func(method string)
}

// Account is a fake hosting account.
type Account struct {
	provision.HostingAccount
	Suspended bool
}

// NewHosting returns an empty fake.
func NewHosting() *Hosting {
	return &Hosting{users: map[string]*Account{}, presets: map[string]map[string]string{}}
}

// AddPreset adds a template.
func (h *Hosting) AddPreset(name string, limits map[string]string) {
	h.mu.Lock()
	h.presets[name] = limits
	h.mu.Unlock()
}

// AddUser adds an existing account.
func (h *Hosting) AddUser(name string) {
	h.mu.Lock()
	h.users[name] = &Account{HostingAccount: provision.HostingAccount{Name: name}}
	h.mu.Unlock()
}

// User returns an account.
func (h *Hosting) User(name string) (Account, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.users[name]
	if !ok {
		return Account{}, false
	}
	return *a, true
}

// Calls returns the number of calls made.
func (h *Hosting) Calls() int64 { return h.calls.Load() }

func (h *Hosting) call(ctx context.Context, method string) (func(), error) {
	h.calls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	return func() {
		h.mu.Unlock()
		if h.AfterCall != nil {
			h.AfterCall(method)
		}
	}, nil
}

// UserExists implements provision.HostingBackend.
func (h *Hosting) UserExists(ctx context.Context, name string) (bool, error) {
	done, err := h.call(ctx, "UserExists")
	if err != nil {
		return false, err
	}
	defer done()
	_, ok := h.users[name]
	return ok, nil
}

// CreateUser implements provision.HostingBackend.
func (h *Hosting) CreateUser(ctx context.Context, a provision.HostingAccount) error {
	done, err := h.call(ctx, "CreateUser")
	if err != nil {
		return err
	}
	defer done()
	if _, ok := h.users[a.Name]; ok || slices.Contains(h.Shadow, a.Name) {
		return fmt.Errorf("create %q: %w", a.Name, ErrNameTaken)
	}
	if _, ok := h.presets[a.Preset]; !ok && a.Preset != "" {
		h.presets[a.Preset] = map[string]string{}
	}
	h.users[a.Name] = &Account{HostingAccount: a}
	return nil
}

func (h *Hosting) user(name string) (*Account, error) {
	a, ok := h.users[name]
	if !ok {
		return nil, fmt.Errorf("fakebackend: user %q not found", name)
	}
	return a, nil
}

// SuspendUser implements provision.HostingBackend.
func (h *Hosting) SuspendUser(ctx context.Context, name string) error {
	done, err := h.call(ctx, "SuspendUser")
	if err != nil {
		return err
	}
	defer done()
	a, err := h.user(name)
	if err == nil {
		a.Suspended = true
	}
	return err
}

// ResumeUser implements provision.HostingBackend.
func (h *Hosting) ResumeUser(ctx context.Context, name string) error {
	done, err := h.call(ctx, "ResumeUser")
	if err != nil {
		return err
	}
	defer done()
	a, err := h.user(name)
	if err == nil {
		a.Suspended = false
	}
	return err
}

// DeleteUser implements provision.HostingBackend.
func (h *Hosting) DeleteUser(ctx context.Context, name string) error {
	done, err := h.call(ctx, "DeleteUser")
	if err != nil {
		return err
	}
	defer done()
	if _, err := h.user(name); err != nil {
		return err
	}
	delete(h.users, name)
	return nil
}

// SetPassword implements provision.HostingBackend.
func (h *Hosting) SetPassword(ctx context.Context, name, password string) error {
	done, err := h.call(ctx, "SetPassword")
	if err != nil {
		return err
	}
	defer done()
	a, err := h.user(name)
	if err == nil {
		a.Password = password
	}
	return err
}

// LoginURL implements provision.HostingBackend.
func (h *Hosting) LoginURL(ctx context.Context, name string) (string, error) {
	done, err := h.call(ctx, "LoginURL")
	if err != nil {
		return "", err
	}
	defer done()
	if _, err := h.user(name); err != nil {
		return "", err
	}
	return "https://isp.example/ispmgr?func=auth&username=" + name + "&key=K", nil
}

// PresetLimits implements provision.HostingBackend.
func (h *Hosting) PresetLimits(ctx context.Context, preset string) (map[string]string, error) {
	done, err := h.call(ctx, "PresetLimits")
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string]string{}
	for k, v := range h.presets[preset] {
		out[k] = v
	}
	return out, nil
}

// IsNameTaken implements provision.HostingBackend.
func (h *Hosting) IsNameTaken(err error) bool { return errors.Is(err, ErrNameTaken) }

var _ provision.HostingBackend = (*Hosting)(nil)
