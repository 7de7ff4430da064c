// Package billmgr helps write a BILLmanager processing module in Go: the
// executable BILLmanager installs as /usr/local/mgr5/processing/<module> and
// runs with long options such as
//
//	<module> --command open --item 117 --runningoperation 42
//
// [ParseArgs] parses that command line, a [Handler] (one method per command;
// embed [UnimplementedHandler] for the ones you skip) does the work, and
// [Run] ties them together: it prints the features document, the small
// answer documents of the check and query commands, or an error document,
// and returns the process exit code.
//
// The callbacks that move a service forward in BILLmanager are the
// handler's job; [Mgrctl] runs them the way ISPsystem's own module helpers
// do — <root>/sbin/mgrctl -m billmgr <func> name=value … out=xml, from the
// installation root (see [Root]), with SSH_CONNECTION naming the module —
// and offers them as methods: [Mgrctl.Post] (service.postopen, postsuspend,
// postresume, postclose, …), [Mgrctl.SaveParam], [Mgrctl.SetStatus],
// [Mgrctl.SetExpireDate], [Mgrctl.OperationError] (runningoperation.edit
// errorxml=…), [Mgrctl.SetManual], and [Mgrctl.ProcessingModule]
// (processing.edit: the module's connection parameters).
//
// -h, -help and --help print plain-text usage (the handler's, if it
// implements [Usager]) and exit 0.
//
// Package billmgrtest tests a module without a BILLmanager: a fake mgrctl
// that records every call and answers as BILLmanager does, in a directory
// laid out like /usr/local/mgr5.
//
// # Protocol facts used
//
//   - Options: --command/-c, --subcommand, --id, --item/-i, --lang/-l,
//     --module/-m, --itemtype/-t, --intname, --param, --value,
//     --runningoperation, --level, --addon/-a. Unknown options are tolerated
//     (BILLmanager passes type-specific extras) and kept in Args.Extra.
//   - --item is required for open, resume, suspend, close, setparam,
//     prolong, transfer, update_ns, check_param and gen_key; --module for
//     sync_pricelist, sync_server, sync_iplist, get_server_config, import,
//     approver and import_pricelist.
//   - Action commands print nothing and exit 0 on success; features prints
//     <doc><itemtypes/><params/><features/></doc> as in [Features].
//   - On failure the module prints <doc><error type="…" object="…"><param
//     name="object" type="msg" msg="…">…</param><param
//     name="value">…</param></error></doc> and exits non-zero; BILLmanager
//     shows its message msg_error_<type>.
//
// # Choices where the reference has gaps (assumptions, no public source)
//
//   - --item is also required by the other commands whose documented
//     arguments include it (prolong_addon, cancel_prolong, reopen,
//     sync_item, check_addon, transition_control_panel); prolong_addon also
//     requires --addon. --module is not required for stat.
//   - IDs (--item, --module, --runningoperation, --addon, --level) must be
//     non-negative decimal integers; anything else is a usage error.
//   - "--name=value" is accepted besides "--name value"; an unknown option
//     takes the next argument as its value unless that starts with "-".
//   - Exit codes: 0 success, 1 handler failure, 2 bad command line. The usage
//     error is printed as an error document of type "usage"; a handler error
//     that is not an *Error becomes type "internal" with its text in a
//     "desc" parameter (as ISPsystem's PHP helper adds a desc parameter).
//   - check_connection, check_param and check_addon print <doc><ok/></doc>
//     on success (the reference allows <doc/> or <doc><ok/></doc> for
//     check_connection).
//   - Every printed XML document starts with an XML declaration.
//   - get_suitable_module with no suitable module prints
//     <doc><modules></modules></doc>.
//   - The option name of transition_control_panel's panel key option is not
//     public; it lands in Args.Extra under whatever name BILLmanager uses.
//   - Commands without a dedicated method (domain, certificate and
//     framework extras) go to Handler.Other, whose output is printed
//     unchanged.
//   - mgrctl is asked for out=xml (the format of ISPsystem's PHP helper);
//     a non-zero exit status or an <error> document is a failure (as in
//     ISPsystem's Python helper). service.saveparam uses the name= value=
//     form of the C++ and PHP helpers.
//   - The test switch etc/billmgr.DoNothing of ISPsystem's C++ base is not
//     implemented; handlers can check it themselves.
package billmgr
