package wire

// Sources, as a reader can open them.
const (
	whmcsDCI   = "github.com/460s/ispsystem_whmcs_modules servers/dcimanager/dcimanager.php and lib/functions.php (ISPsystem's own WHMCS module for DCImanager 5)"
	nodeDCI    = "github.com/joaograca/node-dcimanager lib/server.js, lib/client.js (a DCImanager 5 client using out=json)"
	guideMGR   = "https://www.ispsystem.com/docs/dcimanager/developer-section/guide-to-ispsystem-software-api (vendor API guide: authinfo, func=auth, session.newkey)"
	whmcsISP   = "github.com/460s/ispsystem_whmcs_modules servers/ispmanager/ispmanager.php (ISPsystem's own WHMCS module for ISPmanager 5)"
	jbsISP     = "github.com/joonte/jbs hosts/hosting/system/libs/IspManager5.php (JBS billing, ISPmanager 5 Lite and Business)"
	blestaISP  = "github.com/blesta/module-ispmanager apis/ispmanager_api.php (Blesta's ISPmanager module)"
	billISP    = "https://www.ispsystem.com/docs/b6sa/services-provisioning/shared-hosting/integration-with-ispmanager/ispmanager-module-at-work (BILLmanager: user.add.finish)"
	refIPM     = "https://ispsystem.com/docs/ipmanager/developer-section/ipmanager-api (vendor function reference; only its beginning is public)"
	dci6API    = "https://docs.ispsystem.com/dcimanager-admin/developer-section/api-guide and .../examples-of-api-use (DCImanager 6 vendor docs)"
	dci6Power  = "https://docs.ispsystem.com/dcimanager-admin/equipment/servers/server-power-supply-management-logic (names of the power actions)"
	dci6Key    = "https://ispsystem.com/docs/dcimanager-kb/how-to-guides/how-to-sign-in-to-the-platform-with-a-key"
	vm6Token   = "github.com/usaafko/vmmanager6-api-go session.go (auth v4 token, same auth service as DCImanager 6)"
	dci6Script = "github.com/thirdmadman/isp_scripts js/find_free_ip_dcimgr.js, js/list_of_servers.js (scripts against a real DCImanager 6)"
)

var mgrAuth = []Call{
	{Func: "auth", Params: []string{"username", "password", "key", "checkcookie"}, Status: Confirmed, Source: guideMGR,
		Note: "password login for a session; key login (server to server, and the browser link with checkcookie=no) as in the WHMCS modules. The answer's auth element carries the caller's access level (level=), which the vendor advises checking (https://ispmanager.ru/docs/ispmanager-5-business/vzaimodejstvie-cherez-api); the numbers are not listed: 16 (user) is confirmed by the vendor's modules, 28 for an administrator is assumed"},
	{Func: "session.newkey", Params: []string{"username", "key"}, Status: Confirmed, Source: guideMGR + "; " + whmcsDCI,
		Note: "a key of at least 16 characters for the one-time login link"},
}

// DCImanager5 is the ledger of the dcimanager5 client.
var DCImanager5 = Ledger(append(append([]Call(nil), mgrAuth...), []Call{
	{Func: "whoami", Status: Assumed, Source: "COREmanager function seen in ISPsystem's public test scripts",
		Note: "used only by CheckConnection, which falls back to func=auth when the panel does not know it"},
	{Func: "server", Params: []string{"clickstat", "hint_field"}, Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI,
		Note: "the list without parameters; the install progress hint with elid, clickstat=title and hint_field=install_in_progress as the Node client's getProvisionStatus reads it from doc.value"},
	{Func: "server.edit", Params: []string{"name", "mac", "notes", "type", "owner"}, Status: Confirmed, Source: whmcsDCI,
		Note: "the module re-sends name, mac, notes and type read from the form with the owner; owner=no_owner clears it"},
	{Func: "server.enable", Status: Confirmed, Source: whmcsDCI},
	{Func: "server.disable", Status: Confirmed, Source: whmcsDCI},
	{Func: "server.poweron", Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI},
	{Func: "server.poweroff", Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI},
	{Func: "server.reboot", Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI},
	{Func: "server.opercancel", Status: Confirmed, Source: nodeDCI},
	{Func: "server.operations", Params: []string{"operation", "ostemplate", "passwd", "confirm", "checkpasswd", "recipe", "hostname", "clicked_button"},
		Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI,
		Note: "WHMCS sends operation, ostemplate, passwd, confirm, checkpasswd, recipe; the Node client adds hostname and clicked_button=ok"},
	{Func: "ipmiredirect", Params: []string{"newwindow", "value"}, Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI},
	{Func: "osmgr", Status: Confirmed, Source: nodeDCI + "; https://doc.ispsystem.com/index.php/Integration_between_WHMCS_and_DCImanager (func=osmgr lists the template ids)"},
	{Func: "server.connection", Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI},
	{Func: "server.connection.edit", Status: Confirmed, Source: whmcsDCI + "; " + nodeDCI},
	{Func: "server.connection.on", Status: Confirmed, Source: whmcsDCI},
	{Func: "server.connection.off", Status: Confirmed, Source: whmcsDCI},
	{Func: "iplist", Status: Confirmed, Source: whmcsDCI},
	{Func: "iplist.edit", Params: []string{"ip", "family", "iptype", "domain"}, Status: Confirmed, Source: whmcsDCI},
	{Func: "iplist.delete", Status: Confirmed, Source: whmcsDCI},
	{Func: "user", Status: Confirmed, Source: whmcsDCI},
	{Func: "user.edit", Params: []string{"name", "passwd", "level", "confirm"}, Status: Confirmed, Source: whmcsDCI,
		Note: "create (name, passwd, level=lvUser) is confirmed; the password change (elid, passwd, confirm) follows the COREmanager form convention the ISPmanager clients use and is assumed for DCImanager 5"},
	{Func: "user.delete", Status: Assumed, Source: "COREmanager naming (every user module has user.delete)",
		Note: "no public DCImanager 5 client deletes users"},
	{Func: "trafficburstable", Status: Confirmed, Source: whmcsDCI},
	{Func: "ipnet", Status: Assumed, Source: "vendor function reference head https://ispsystem.com/docs/dcimanager/developer-section/dcimanager-api lists network functions (new_net); the list name ipnet follows IPmanager 6 (\"ipnet\" filters in " + dci6Script + ")",
		Note: "the networks DCImanager offers on connect (the vendor's ISPWiki page \"Integrating with DCImanager\": once connected, DCImanager sends the list of available networks); rows name, note"},
}...))

// IPmanager is the ledger of the ipmanager client.
var IPmanager = Ledger(append(append([]Call(nil), mgrAuth...), []Call{
	{Func: "ip", Params: []string{"family", "iptype", "domain", "state"}, Status: Confirmed, Source: refIPM,
		Note: "the list (columns ip, domain, iptype, note) is documented; the filter parameters family, iptype, domain and state are assumed"},
	{Func: "ip.edit", Params: []string{"family", "iptype", "ip", "domain", "note"}, Status: Assumed, Source: refIPM,
		Note: "view/edit with elid and family are documented; allocation (sok=ok without elid picks a free address of iptype) and the other parameters are assumed, by analogy with DCImanager 5 iplist.edit"},
	{Func: "ip.delete", Status: Assumed, Source: refIPM, Note: "releasing an address by deleting it is assumed"},
	{Func: "iptype", Status: Assumed, Source: "https://docs.ispsystem.com/ipmanager/networks-of-ip-addresses/manage-the-groups-of-ip-addresses (groups exist; the function name is assumed)"},
}...))

// ISPmanager is the ledger of the ispmanager client.
var ISPmanager = Ledger(append(append([]Call(nil), mgrAuth...), []Call{
	{Func: "user", Status: Confirmed, Source: whmcsISP + "; " + jbsISP},
	{Func: "user.add.finish", Params: []string{"name", "passwd", "confirm", "fullname", "preset", "email", "ipsrc", "iptype",
		"webdomain_name", "webdomain", "emaildomain_name", "emaildomain", "ftp_user_name",
		"limit_quota", "limit_traff", "limit_db", "limit_dbsize", "limit_db_users", "limit_ftp_users", "limit_webdomains",
		"limit_domains", "limit_emaildomains", "limit_emails", "limit_email_quota", "limit_cpu", "limit_memory", "limit_process",
		"limit_mailrate", "limit_scheduler", "limit_shell", "limit_ssl", "limit_cgi", "limit_php_mode"},
		Status: Confirmed, Source: billISP + "; " + whmcsISP + "; " + blestaISP,
		Note: "webdomain_name and emaildomain_name create the site and the mail domain (webdomain=off / emaildomain=off when the domain already exists), ftp_user_name the FTP user, as the WHMCS and Blesta modules send them; limit_* as WHMCS and JBS send them"},
	{Func: "user.edit", Params: []string{"preset", "fullname", "passwd", "confirm",
		"limit_quota", "limit_traff", "limit_db", "limit_dbsize", "limit_db_users", "limit_ftp_users", "limit_webdomains",
		"limit_domains", "limit_emaildomains", "limit_emails", "limit_email_quota", "limit_cpu", "limit_memory", "limit_process",
		"limit_mailrate", "limit_scheduler", "limit_shell", "limit_ssl", "limit_cgi", "limit_php_mode"},
		Status: Confirmed, Source: whmcsISP + "; " + jbsISP + "; " + blestaISP,
		Note: "without elid and sok it returns the blank new-user form, whose limit_quota field exists only while disk quotas are on (https://www.ispmanager.com/docs/ispmanager/account-limits-and-resources)"},
	{Func: "user.suspend", Status: Confirmed, Source: whmcsISP + "; " + blestaISP},
	{Func: "user.resume", Status: Confirmed, Source: whmcsISP + "; " + blestaISP},
	{Func: "user.delete", Status: Confirmed, Source: whmcsISP + "; " + blestaISP},
	{Func: "usrparam", Params: []string{"passwd", "confirm", "atype", "clicked_button"}, Status: Confirmed, Source: whmcsISP + "; " + jbsISP,
		Note: "the user's own password form, called with su=<user>; JBS resends atype=atany and clicked_button=ok"},
	{Func: "userstat", Status: Confirmed, Source: jbsISP},
	{Func: "preset", Status: Confirmed, Source: whmcsISP + "; " + blestaISP},
	{Func: "preset.edit", Params: []string{"name",
		"limit_quota", "limit_traff", "limit_db", "limit_dbsize", "limit_db_users", "limit_ftp_users", "limit_webdomains",
		"limit_domains", "limit_emaildomains", "limit_emails", "limit_email_quota", "limit_cpu", "limit_memory", "limit_process",
		"limit_mailrate", "limit_scheduler", "limit_shell", "limit_ssl", "limit_cgi", "limit_php_mode"},
		Status: Confirmed, Source: whmcsISP,
		Note: "reading a template's limit_* fields is confirmed; creating or changing one (sok=ok with name and limit_*) follows the COREmanager form convention and is assumed"},
	{Func: "license.info", Status: Confirmed, Source: jbsISP, Note: "the edition: Lite or Business"},
	{Func: "webdomain", Status: Confirmed, Source: whmcsISP + "; " + jbsISP + "; github.com/Khorsa/php-ispmanager-api tests/IspWebDomainTest.php (a captured answer)",
		Note: "WWW domains, called with su=<user> for one account"},
	{Func: "emaildomain", Status: Confirmed, Source: whmcsISP + "; " + jbsISP, Note: "mail domains, with su=<user>"},
	{Func: "domain", Status: Confirmed, Source: whmcsISP + "; " + jbsISP, Note: "DNS domains, with su=<user>"},
	{Func: "ipaddr", Status: Confirmed, Source: whmcsISP, Note: "addresses, with su=<user>: rows name (the address) and iprole"},
	{Func: "ipaddr.edit", Params: []string{"iprole", "iptype", "name", "owner", "node"}, Status: Confirmed, Source: whmcsISP + "; " + jbsISP,
		Note: "adds a dedicated address to an account (iprole=assigned, name empty = a free one); the new address comes back in id; not on Lite"},
}...))

// DCImanager6 is the ledger of the dcimanager6 client. Paths are below the
// API prefix (/api by default).
var DCImanager6 = Ledger{
	{Func: "POST /auth/v4/public/token", Params: []string{"email", "password"}, Status: Confirmed, Source: vm6Token + "; " + dci6API,
		Note: "answers 201 {\"token\"}; third-party scripts call it both with and without the /api prefix"},
	{Func: "POST /auth/v4/user/{user}/key", Status: Confirmed, Source: dci6Key},
	{Func: "GET /auth/v4/whoami", Status: Confirmed, Source: "github.com/MOIS3Y/aiovmmanager aiovmmanager/base.py (same auth v4 service)"},
	{Func: "POST /auth/v4/user/{id}/password", Params: []string{"password"}, Status: Assumed, Source: dci6API,
		Note: "no public source shows a password change; chosen beside the documented per-user key call"},
	{Func: "GET /dci/v3/server", Params: []string{"where", "orderby", "limit"}, Status: Confirmed, Source: dci6API + "; " + dci6Script},
	{Func: "GET /dci/v3/server/{id}", Status: Confirmed, Source: dci6API},
	{Func: "GET /dci/v3/server/configuration", Params: []string{"where"}, Status: Confirmed, Source: dci6API},
	{Func: "POST /dci/v3/server/{id}", Params: []string{"owner", "domain"}, Status: Assumed, Source: dci6API,
		Note: "the docs title a section \"User assignment as server owner\" with a POST whose text is not public; editing by POST to the object URL is VMmanager 6's rule"},
	{Func: "POST /dci/v3/server/{id}/power_on", Status: Confirmed, Source: dci6Power + "; github.com/thirdmadman/freeds-selection (and a public power script calling api/dci/v3/server/{id}/power_on with {})"},
	{Func: "POST /dci/v3/server/{id}/power_off", Status: Confirmed, Source: dci6Power},
	{Func: "POST /dci/v3/server/{id}/power_reset", Status: Confirmed, Source: dci6Power},
	{Func: "POST /dci/v3/server/{id}/reinstall", Params: []string{"os", "password", "domain", "recipe_list"}, Status: Assumed, Source: dci6API,
		Note: "modelled on VMmanager 6 POST /vm/v3/host/{id}/reinstall {os, password}"},
	{Func: "GET /dci/v3/user", Params: []string{"where", "limit", "orderby"}, Status: Confirmed, Source: dci6API},
	{Func: "POST /dci/v3/user", Params: []string{"email", "full_name", "password", "role", "phone_number"}, Status: Confirmed, Source: dci6API},
	{Func: "GET /dci/v3/user/{id}", Status: Assumed, Source: dci6API},
	{Func: "DELETE /dci/v3/user/{id}", Status: Assumed, Source: "https://ISPsystem.com/dci-api-integration (user deletion exists; URL assumed)"},
	{Func: "GET /dci/v3/location", Params: []string{"where", "limit", "orderby"}, Status: Assumed, Source: dci6API, Note: "locations exist (location_id filters); the list URL is assumed"},
	{Func: "GET /dci/v3/location/{id}", Status: Assumed, Source: dci6API},
	{Func: "GET /dci/v3/os_template", Params: []string{"where", "limit", "orderby"}, Status: Assumed, Source: "https://docs.ispsystem.com/dcimanager-admin/templates/templates-management (templates per location; URL assumed)"},
	{Func: "GET /dci/v3/operation", Params: []string{"where", "limit", "orderby"}, Status: Assumed, Source: dci6API},
	{Func: "GET /dci/v3/operation/{id}", Status: Assumed, Source: dci6API},
	{Func: "GET /dci/v3/switch/{id}/port", Params: []string{"where", "limit", "orderby"}, Status: Confirmed, Source: "a public DCImanager 6 switch-port script (GET /api/dci/v3/switch/{id}/port?orderby=id desc&limit=0,1000)"},
	{Func: "POST /dci/v3/switch/{id}/port/{id}/enable", Status: Assumed, Source: dci6API},
	{Func: "POST /dci/v3/switch/{id}/port/{id}/disable", Status: Assumed, Source: dci6API},
	{Func: "GET /ip/v3/ip", Params: []string{"where", "orderby", "limit"}, Status: Confirmed, Source: "a public IPmanager 6 free-address script (GET /api/ip/v3/ip?where=ipnet EQ n); " + dci6Script + " reads the same list at /api/dci/v3/ipmgr/ip",
		Note: "both paths are public; the client uses the IP service's own path"},
	{Func: "GET /ip/v3/ip/{id}", Status: Assumed, Source: dci6API},
	{Func: "POST /ip/v3/ip", Params: []string{"ippool", "name", "server_id", "domain", "note"}, Status: Assumed, Source: dci6API,
		Note: "assignment of a pool address to a server; path and fields assumed"},
	{Func: "DELETE /ip/v3/ip/{id}", Status: Assumed, Source: dci6API, Note: "unassignment returns the address to its pool"},
	{Func: "GET /ip/v3/ippool", Params: []string{"where", "limit", "orderby"}, Status: Confirmed, Source: vm6Token + " (ippool of the same IPmanager 6)"},
	{Func: "GET /ip/v3/ippool/{id}", Status: Confirmed, Source: vm6Token},
}
