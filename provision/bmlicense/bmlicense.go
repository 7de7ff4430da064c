// Package bmlicense adapts the billmanager client (an upstream BILLmanager
// that sells ISPsystem licenses, the vendor's "licensing server") to
// provision.LicenseBackend, so the provision engine orders, suspends,
// resumes and closes the license a tariff sells with a dedicated server
// (billing.Tariff.License).
//
//	c, _ := billmanager.NewClient(billmanager.ISPsystemURL, billmanager.WithCredentials(user, pw))
//	cfg.Licenses = bmlicense.New(c)
//
// Mapping decisions:
//   - A server's license is named billmanager.LicenseName(service id,
//     server name) ("Item #<service> addon <server>", the name
//     BILLmanager's own DCImanager module gives it) and bound to the
//     server's main address; FindLicense looks for that name and address
//     among the account's licenses that are not deleted, which is how an
//     order whose answer was lost is found instead of bought twice.
//   - SuspendLicense and ResumeLicense forgive a refusal when the license
//     already has the wanted status (read back with Get), so a retried
//     Suspend or Unsuspend does not fail on its license.
//   - CloseLicense is billmanager.Client.Close: suspended and put back in
//     the account's pool (free.lic, 0.0.0.0), as BILLmanager's DCImanager
//     module does; the provider deletes or reuses pooled licenses.
//   - Errors: an order that may have been placed (billmanager.IsUncertain)
//     is MayHaveHappened; a failure without an answer from BILLmanager
//     (connection, unreadable page) is a panel fault, worth retrying; a
//     BILLmanager refusal (doc.error: no funds, a bad tariff code, access)
//     or refused input is neither, and the engine hands the order to
//     staff.
package bmlicense

import (
	"context"
	"errors"
	"net/netip"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/billmanager"
	"github.com/ispkit/ispkit/provision"
)

// Backend is a provision.LicenseBackend over a licensing server. It is
// safe for concurrent use when its LicenseServer is (a *billmanager.Client
// is).
type Backend struct {
	s billmanager.LicenseServer
}

var (
	_ provision.LicenseBackend  = (*Backend)(nil)
	_ provision.FaultClassifier = (*Backend)(nil)
)

// New returns a Backend using s, normally a *billmanager.Client logged in
// as the account that pays for the licenses.
func New(s billmanager.LicenseServer) *Backend { return &Backend{s: s} }

func parseIP(op, s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, &ispkit.ArgumentError{Package: "bmlicense", Op: op, Arg: "IP", Reason: "not an IP address"}
	}
	return ip, nil
}

// FindLicense returns the license of o's server: named after o's service
// and server, bound to o.IP, not deleted.
func (b *Backend) FindLicense(ctx context.Context, o provision.LicenseOrder) (string, bool, error) {
	ip, err := parseIP("FindLicense", o.IP)
	if err != nil {
		return "", false, err
	}
	ls, err := b.s.Find(ctx, billmanager.LicenseName(o.ServiceID, o.ServerName), ip)
	if err != nil {
		return "", false, err
	}
	for _, l := range ls {
		if l.Status != billing.StatusDeleted {
			return l.ID, true, nil
		}
	}
	return "", false, nil
}

// OrderLicense orders o's license (charged to the account, activated at
// once) and returns its id.
func (b *Backend) OrderLicense(ctx context.Context, o provision.LicenseOrder) (string, error) {
	ip, err := parseIP("OrderLicense", o.IP)
	if err != nil {
		return "", err
	}
	l, err := b.s.Order(ctx, billmanager.OrderRequest{Pricelist: o.Pricelist, Period: o.Period, AutoProlong: o.AutoProlong,
		IP: ip, Name: billmanager.LicenseName(o.ServiceID, o.ServerName)})
	if err != nil {
		return "", err
	}
	return l.ID, nil
}

// SuspendLicense suspends license id. A refusal by BILLmanager while the
// license is suspended already (a repeated Suspend after a failure further
// on) counts as done.
func (b *Backend) SuspendLicense(ctx context.Context, id string) error {
	return b.already(ctx, id, billing.StatusSuspended, b.s.Suspend(ctx, id))
}

// ResumeLicense resumes license id; a refusal while it is active already
// counts as done.
func (b *Backend) ResumeLicense(ctx context.Context, id string) error {
	return b.already(ctx, id, billing.StatusActive, b.s.Resume(ctx, id))
}

// already forgives err, BILLmanager's refusal of a status change, when the
// license has the wanted status: the vendor does not say whether soft.suspend
// of a suspended license (or soft.resume of an active one) is refused, and
// a retried operation must not fail on it.
func (b *Backend) already(ctx context.Context, id string, want billing.Status, err error) error {
	var be *billmanager.Error
	if err == nil || !errors.As(err, &be) {
		return err
	}
	if l, gerr := b.s.Get(ctx, id); gerr == nil && l.Status == want {
		return nil
	}
	return err
}

// CloseLicense suspends license id and returns it to the account's pool.
// A license the licensing server no longer has is closed already.
func (b *Backend) CloseLicense(ctx context.Context, id string) error {
	if err := b.s.Close(ctx, id); err != nil && !billmanager.IsNotFound(err) {
		return err
	}
	return nil
}

// MayHaveHappened implements provision.FaultClassifier: only an order
// whose answer was lost may have been placed.
func (b *Backend) MayHaveHappened(err error) bool { return billmanager.IsUncertain(err) }

// IsPanelFault implements provision.FaultClassifier: a failure that
// carries no answer from BILLmanager (and is not an uncertain order) is
// the licensing server's or the network's, worth retrying; a BILLmanager
// refusal or refused input is not.
func (b *Backend) IsPanelFault(err error) bool {
	var be *billmanager.Error
	switch {
	case err == nil, billmanager.IsUncertain(err), errors.As(err, &be), errors.Is(err, ispkit.ErrInvalidArgument),
		errors.Is(err, context.Canceled):
		return false
	}
	return true
}
