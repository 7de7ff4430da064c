// Package ispmanager is a typed client for ISPmanager 5 (Lite and
// Business), the hosting panel of the ISPsystem family, over the
// COREmanager ("mgr5") HTTP API. It manages hosting accounts the way
// BILLmanager and the WHMCS module do: users created from presets
// (templates) with limit overrides, suspend, resume, delete, password,
// presets, the SSO login link and edition detection.
//
//	c, err := ispmanager.NewClient("https://host:1500/ispmgr",
//		ispmanager.WithCredentials("billing", password))
//	u, err := c.Users.Create(ctx, &ispmanager.UserCreateRequest{
//		Name: "user117", Password: pw, Preset: "Site hosting",
//		Limits: ispmanager.Limits{Databases: ispmanager.Int(10)},
//	})
//
// The package ispmanagertest holds a fake panel for tests.
//
// # Panel functions used
//
//	Users.List         user
//	Users.Get          user.edit (view, elid=name) + user
//	Users.Create       user.add.finish (sok=ok)
//	Users.Update       user.edit (elid=name, sok=ok, preset, fullname, limit_*)
//	Users.SetPassword  user.edit (elid=name, sok=ok, passwd, confirm)
//	Users.Suspend      user.suspend (elid=name)
//	Users.Resume       user.resume (elid=name)
//	Users.Delete       user.delete (elid=name)
//	Users.Usage        userstat (su=name)
//	Presets.List       preset
//	Presets.Get        preset.edit (view, elid=name)
//	Presets.Create     preset.edit (sok=ok, name, limit_*)
//	Presets.Update     preset.edit (elid=name, sok=ok, limit_*)
//	Client.LoginURL    session.newkey, then <endpoint>?func=auth&username&key
//	Client.License     license.info
//	Client.Edition     license.info
//
// Every call is a POST with out=json; credentials (authinfo, or auth= with
// WithSessionAuth) and passwords travel only in the body.
//
// # Limits and templates
//
// [Limits] types the known limit_* values (*int counts and sizes, *bool
// toggles) and keeps unknown ones in Extra. nil means "not set",
// [Unlimited] (sent as an empty value) means no bound. [MergeLimits] is
// the one implementation of the precedence rule: a value set by billing
// (the tariff) wins; an unset one comes from the template. Users.Create
// sends the preset name plus the tariff's explicit limits and lets the
// panel fill in the rest, as BILLmanager does; MergeLimits predicts the
// result and the fake applies it.
//
// # Errors
//
// Panel errors are *[Error] (doc.error: type, object, value, message) with
// predicates: [IsUserExists] (exists/user: the name is taken; try the
// next candidate), [IsDomainExists] (exists/name: the WWW domain exists;
// retry without it), [IsExists], [IsNotFound], [IsValue], [IsAccess],
// [IsAuth], and [IsLimitBelowUsage] / *[LimitBelowUsageError] when the
// panel refuses to lower a limit below current usage. Input rejected
// before sending is *[ArgumentError]. Transport failures are
// *[TransportError]; [MayHaveHappened] tells whether a non-idempotent call
// may have run anyway. Passwords, authinfo, session ids and login keys
// never appear in errors or logs.
//
// # Retries
//
//	call                                       class           retried
//	Users.List/Get/Usage, Presets.List/Get,    safe read       yes
//	License, Edition
//	Users.Update/SetPassword/Suspend/Resume/   idempotent      yes
//	Delete, Presets.Update, LoginURL
//	Users.Create, Presets.Create               non-idempotent  no, sent once
//
// "Retried" means on transport errors, 429 and 5xx other than 501, with
// jittered exponential backoff and Retry-After honoured up to a cap.
// A failed non-idempotent call is not re-sent by the client: the caller
// (the provision engine) re-reads state (Users.Get) and decides. The
// retry budget is WithRetry (default 4 retries); an expired session is
// renewed once. Tuning this table is not a breaking change.
//
// # Assumptions
//
// Where the public facts stop ((assumed) and (inferred) in the project's mgr5 spec)
// the client and its fake agree on these choices:
//
//   - An empty limit value means unlimited; a preset the panel creates on
//     its own (user.add.finish naming a missing preset) has every numeric
//     limit empty.
//   - The domain of a new user is sent as domain=<fqdn> (JBS); ipsrc
//     (auto | do_not_assign) and iptype (ipv4 | ipv6) as in the WHMCS
//     module.
//   - Changing the preset with Users.Update makes the user's limits those
//     of the new preset, overridden by the limits sent in the same call.
//   - The refusal to lower a limit below usage is a doc.error of type
//     "value" (or "limit") on the numeric limit_<name> field, optionally
//     with a "usage" param; Users.Update turns it into
//     *LimitBelowUsageError.
//   - license.info names the edition in panel_name or mgr; "Business" in
//     either means Business, anything else non-empty means Lite.
//   - User names follow the Linux account rule (a letter, then letters,
//     digits, '_', '-', '.'; at most 32); preset names are 1–64
//     characters without commas or control characters.
//   - Users.Get reads status and owner from the user list because the
//     user.edit form has no status field.
//   - Users.Usage keys rows by the $orig attribute of userstat's name
//     column, with or without the limit_ prefix.
package ispmanager
