package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/ispkit/ispkit/billmanager"
	"github.com/ispkit/ispkit/billmanager/billmanagertest"
	"github.com/ispkit/ispkit/provision/bmlicense"
)

// connectLicenses builds the licensing server the engine orders the
// tariffs' ISPsystem licenses from (-license): a fake upstream BILLmanager
// started in-process with the fake panels, or the real one of
// -license-url (default ISPsystem's own billing) with real panels.
func (p *panels) connectLicenses(o *options, logger *slog.Logger) error {
	if o.license == 0 {
		return nil
	}
	if !o.real {
		fake := billmanagertest.NewServer()
		p.fakeLic = fake
		p.closers = append(p.closers, fake.Close)
		o.licURL, o.licUser, o.licPassword = fake.URL(), billmanagertest.DefaultUser, billmanagertest.DefaultPassword
	}
	if o.licUser == "" || o.licPassword == "" {
		return errors.New("-license with real panels needs -license-user and -license-password (the account that pays for the licenses)")
	}
	c, err := billmanager.NewClient(o.licURL, billmanager.WithCredentials(o.licUser, o.licPassword),
		billmanager.WithApplication("ispkit-example-dedicated", "1"), billmanager.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("licensing server client: %w", err)
	}
	p.licenses = bmlicense.New(c)
	return nil
}
