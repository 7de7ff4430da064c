package billing

// LicenseSpec is an ISPsystem software license sold with every dedicated
// server of a tariff (the vendor's "Licensing server": BILLmanager orders
// ISPsystem licenses for dedicated servers from a licensing server, a
// processing module of type "BILLmanager 5", that is, from an upstream
// BILLmanager). The license is ordered for the server's main address
// after the OS install and follows the server: suspended, resumed and
// closed with it.
type LicenseSpec struct {
	// Pricelist is the upstream tariff code of the license (the
	// licensing server's pricelist id), for example 55227 for ISPmanager 6
	// Lite on ISPsystem's own billing. Required, positive.
	Pricelist int64
	// Period is the paid period in months, 1 or 12; zero means 1.
	Period int
	// AutoProlong is the automatic renewal period in months: 0 (none), 1
	// or 12.
	AutoProlong int
}

// EffectivePeriod is Period, or 1 when it is zero.
func (l *LicenseSpec) EffectivePeriod() int {
	if l.Period == 0 {
		return 1
	}
	return l.Period
}

// Validate checks the license on its own and returns the first problem as
// an *ArgumentError.
func (l *LicenseSpec) Validate() error {
	switch {
	case l.Pricelist <= 0:
		return invalid("License.Pricelist", "must be a positive tariff code of the licensing server")
	case l.Period != 0 && l.Period != 1 && l.Period != 12:
		return invalid("License.Period", "must be 1 or 12 months")
	case l.AutoProlong != 0 && l.AutoProlong != 1 && l.AutoProlong != 12:
		return invalid("License.AutoProlong", "must be 0, 1 or 12 months")
	}
	return nil
}

// Clone returns a copy of l.
func (l *LicenseSpec) Clone() *LicenseSpec {
	if l == nil {
		return nil
	}
	c := *l
	return &c
}
