// Package ispmgr adapts the ispmanager client to provision.HostingBackend:
// accounts created from a template (preset) with merged limits, suspend,
// resume, delete, password and single sign-on.
//
// Choices: UserExists reads the user list (a missing user is not an error);
// CreateUser sends user.add.finish through ispmanager.UsersService.Create
// without assigning a dedicated IP (shared hosting); IsNameTaken is
// ispmanager.IsUserExists (doc.error exists/user); CheckCreate refuses an
// ISPmanager Lite whose disk quotas are off.
package ispmgr

import (
	"context"
	"errors"
	"sync"

	"github.com/ispkit/ispkit/ispmanager"
	"github.com/ispkit/ispkit/provision"
)

// Backend is a provision.HostingBackend over an ISPmanager client.
type Backend struct {
	c *ispmanager.Client

	mu      sync.Mutex
	edition ispmanager.Edition // read once by CheckCreate
}

var _ provision.HostingBackend = (*Backend)(nil)

// New returns a Backend using c (an administrator's client). Give c its
// rate limit and logger options (ispmanager.WithRateLimit,
// ispmanager.WithLogger).
func New(c *ispmanager.Client) *Backend { return &Backend{c: c} }

// DiskQuotasOffError is CheckCreate's refusal: the panel is ISPmanager
// Lite and its disk quotas are off. It matches provision.ErrDiskQuotasOff.
type DiskQuotasOffError struct {
	// Edition is the panel's edition as license.info named it.
	Edition ispmanager.Edition
}

// Error implements error.
func (e *DiskQuotasOffError) Error() string {
	return "ispmgr: ISPmanager " + string(e.Edition) + " has disk quotas off: the panel would ignore the accounts' disk limit; " +
		"turn quotas on in ISPmanager (the vendor's integration guide requires them on Lite)"
}

// Unwrap returns provision.ErrDiskQuotasOff.
func (e *DiskQuotasOffError) Unwrap() error { return provision.ErrDiskQuotasOff }

// CheckCreate implements provision.CreatePreflight. On ISPmanager Lite
// (license.info, read once and remembered) it reads whether disk quotas
// are on (the blank user form offers limit_quota only then, see
// ispmanager.UsersService.DiskQuotasEnabled) and returns a
// *DiskQuotasOffError when they are not: BILLmanager's "Settings in
// ISPmanager" asks to enable disk quotas on Lite. Business is not
// checked. Quotas are read on every call, so turning them on takes effect
// at once.
func (b *Backend) CheckCreate(ctx context.Context) error {
	b.mu.Lock()
	ed := b.edition
	b.mu.Unlock()
	if ed == ispmanager.EditionUnknown {
		var err error
		if ed, err = b.c.Edition(ctx); err != nil {
			return err
		}
		b.mu.Lock()
		b.edition = ed
		b.mu.Unlock()
	}
	if ed != ispmanager.EditionLite {
		return nil
	}
	on, err := b.c.Users.DiskQuotasEnabled(ctx)
	if err != nil {
		return err
	}
	if !on {
		return &DiskQuotasOffError{Edition: ed}
	}
	return nil
}

var _ provision.CreatePreflight = (*Backend)(nil)

// UserExists reports whether an account called name exists.
func (b *Backend) UserExists(ctx context.Context, name string) (bool, error) {
	users, err := b.c.Users.List(ctx)
	if err != nil {
		return false, err
	}
	for _, u := range users {
		if u.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// CreateUser creates the account with its preset and limits.
func (b *Backend) CreateUser(ctx context.Context, a provision.HostingAccount) error {
	limits, err := ispmanager.ParseLimits(a.Limits)
	if err != nil {
		return err
	}
	_, err = b.c.Users.Create(ctx, &ispmanager.UserCreateRequest{
		Name: a.Name, Password: a.Password, Preset: a.Preset, Limits: limits, Domain: a.Domain,
	})
	return err
}

// SuspendUser suspends the account.
func (b *Backend) SuspendUser(ctx context.Context, name string) error {
	return b.c.Users.Suspend(ctx, name)
}

// ResumeUser resumes the account.
func (b *Backend) ResumeUser(ctx context.Context, name string) error {
	return b.c.Users.Resume(ctx, name)
}

// DeleteUser deletes the account; a missing account is not an error.
func (b *Backend) DeleteUser(ctx context.Context, name string) error {
	if err := b.c.Users.Delete(ctx, name); err != nil && !ispmanager.IsNotFound(err) {
		return err
	}
	return nil
}

// SetPassword changes the account's password.
func (b *Backend) SetPassword(ctx context.Context, name, password string) error {
	return b.c.Users.SetPassword(ctx, name, password)
}

// LoginURL returns a one-time login link for the account.
func (b *Backend) LoginURL(ctx context.Context, name string) (string, error) {
	return b.c.LoginURL(ctx, name)
}

// PresetLimits returns the template's limits keyed limit_<name>. A missing
// template has no limits (ISPmanager creates it unlimited).
func (b *Backend) PresetLimits(ctx context.Context, preset string) (map[string]string, error) {
	p, err := b.c.Presets.Get(ctx, preset)
	if err != nil {
		if ispmanager.IsNotFound(err) {
			return map[string]string{}, nil
		}
		return nil, err
	}
	out := map[string]string{}
	for k, v := range p.Limits.Values() {
		out[ispmanager.LimitPrefix+k] = v
	}
	return out, nil
}

// IsNameTaken reports whether err is ISPmanager's "user exists" error.
func (b *Backend) IsNameTaken(err error) bool { return ispmanager.IsUserExists(err) }

// IsPanelFault implements provision.FaultClassifier: a transport error
// (after the client's retries), a rate limit, an unreadable answer (a proxy
// error page) or a panel refusal of type access, auth, license or limit is
// ISPmanager's own failure, for which another module may serve the order.
func (b *Backend) IsPanelFault(err error) bool {
	var te *ispmanager.TransportError
	var rl *ispmanager.RateLimitError
	var pe *ispmanager.ProtocolError
	if errors.As(err, &te) || errors.As(err, &rl) || errors.As(err, &pe) {
		return true
	}
	var e *ispmanager.Error
	if errors.As(err, &e) {
		switch e.Type {
		case "access", "auth", "license", "limit":
			return true
		}
	}
	return false
}

// MayHaveHappened implements provision.FaultClassifier: a transport error
// says so itself; a panel answer or a rate limit means the call was not
// carried out; anything else may have been.
func (b *Backend) MayHaveHappened(err error) bool {
	var te *ispmanager.TransportError
	if errors.As(err, &te) {
		return te.MayHaveHappened
	}
	var e *ispmanager.Error
	var rl *ispmanager.RateLimitError
	return !errors.As(err, &e) && !errors.As(err, &rl)
}

var _ provision.FaultClassifier = (*Backend)(nil)
