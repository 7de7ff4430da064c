package dcimanager5test

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/ispkit/ispkit/internal/mgr5"
	"github.com/ispkit/ispkit/internal/mgr5fake"
)

func (s *Server) register() {
	h := func(fn string, a mgr5fake.Access, f mgr5fake.HandlerFunc) { s.core.Handle(fn, a, f) }
	h("whoami", mgr5fake.AnyUser, s.whoami)
	h("ipnet", mgr5fake.AdminOnly, s.networkList)
	h("server", mgr5fake.AnyUser, s.serverList)
	h("server.edit", mgr5fake.AdminOnly, s.serverEdit)
	h("server.enable", mgr5fake.AdminOnly, s.serverEnable(true))
	h("server.disable", mgr5fake.AdminOnly, s.serverEnable(false))
	h("server.poweron", mgr5fake.AnyUser, s.serverPower("on"))
	h("server.poweroff", mgr5fake.AnyUser, s.serverPower("off"))
	h("server.reboot", mgr5fake.AnyUser, s.serverPower("reboot"))
	h("server.operations", mgr5fake.AnyUser, s.serverOperations)
	h("server.opercancel", mgr5fake.AnyUser, s.serverOperCancel)
	h("server.connection", mgr5fake.AdminOnly, s.connList)
	h("server.connection.edit", mgr5fake.AdminOnly, s.connEdit)
	h("server.connection.on", mgr5fake.AdminOnly, s.connToggle(true))
	h("server.connection.off", mgr5fake.AdminOnly, s.connToggle(false))
	h("iplist", mgr5fake.AnyUser, s.ipList)
	h("iplist.edit", mgr5fake.AdminOnly, s.ipEdit)
	h("iplist.delete", mgr5fake.AdminOnly, s.ipDelete)
	h("osmgr", mgr5fake.AnyUser, s.osList)
	h("user", mgr5fake.AdminOnly, s.userList)
	h("user.edit", mgr5fake.AdminOnly, s.userEdit)
	h("user.delete", mgr5fake.AdminOnly, s.userDelete)
	h("ipmiredirect", mgr5fake.AnyUser, s.ipmiRedirect)
	h("trafficburstable", mgr5fake.AdminOnly, s.traffic)
}

func missed(object, value string) error {
	return &mgr5.Error{Type: mgr5.TypeMissed, Object: object, Value: value}
}

func badValue(object, msg string) error {
	return &mgr5.Error{Type: mgr5.TypeValue, Object: object, Message: msg}
}

func isAdmin(c *mgr5fake.Ctx) bool { return c.User.Level >= LevelAdmin }

// lookup finds a server the caller may act on; the caller holds s.mu.
func (s *Server) lookup(c *mgr5fake.Ctx, elid string) (*server, error) {
	id, err := strconv.ParseInt(elid, 10, 64)
	if err != nil {
		return nil, missed("elid", elid)
	}
	sv, ok := s.servers[id]
	if !ok {
		return nil, missed("elid", elid)
	}
	if !isAdmin(c) {
		u, ok := s.userByName(c.User.Name)
		if !ok || sv.owner != u.id {
			return nil, &mgr5.Error{Type: mgr5.TypeAccess, Object: "server", Value: elid}
		}
	}
	sv.settle(s.now())
	return sv, nil
}

// lookupAll resolves every elid of a group operation; all or nothing.
func (s *Server) lookupAll(c *mgr5fake.Ctx) ([]*server, error) {
	ids := c.Req.Elids()
	if len(ids) == 0 {
		return nil, missed("elid", "")
	}
	out := make([]*server, 0, len(ids))
	for _, e := range ids {
		sv, err := s.lookup(c, e)
		if err != nil {
			return nil, err
		}
		out = append(out, sv)
	}
	return out, nil
}

func (s *Server) whoami(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	d := mgr5.NewDoc()
	d.Add("user", c.User.Name).Attr("level", strconv.Itoa(c.User.Level))
	return d, nil
}

func (s *Server) serverList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Req.Get("clickstat") == "title" {
		return s.serverHint(c)
	}
	d := mgr5.NewDoc()
	var uid int64 = -1
	if !isAdmin(c) {
		if u, ok := s.userByName(c.User.Name); ok {
			uid = u.id
		} else {
			uid = -2
		}
	}
	for _, id := range s.order {
		sv := s.servers[id]
		if uid != -1 && sv.owner != uid {
			continue
		}
		st := s.state(sv)
		e := d.Elem()
		e.Add("id", strconv.FormatInt(st.ID, 10))
		e.Add("name", st.Name)
		e.Add("hostname", st.Hostname)
		e.Add("ip", st.MainIP)
		if st.Owner != 0 {
			e.Add("owner", strconv.FormatInt(st.Owner, 10))
		}
		if st.ChassisTemplate != "" {
			e.Add("chassis_templ", st.ChassisTemplate)
		}
		e.Add("type", st.Type)
		e.Add("gen_chassis_name", st.ChassisName)
		e.Add("rack", st.Rack)
		for _, cn := range sv.conns {
			if cn.typ == "IPMI" {
				e.Add("ipmi", "IPMI S"+strconv.FormatInt(st.ID, 10))
				break
			}
		}
		e.FlagIf("blocked", st.Blocked)
		e.FlagIf("hwproblem", st.HWProblem)
		e.FlagIf("diag_in_progress", st.DiagInProgress)
		e.FlagIf("disabled", st.Disabled)
		e.FlagIf("poweron", st.PowerOn)
		e.FlagIf("poweroff", st.PowerOff)
		e.FlagIf("powererror", st.PowerError)
		e.FlagIf("install_in_progress", st.InstallInProgress)
		e.FlagIf("operation_failed", st.OperationFailed)
	}
	return d, nil
}

// serverHint answers the progress hint the vendor's Node client reads
// (func=server&elid=<id>&clickstat=title&hint_field=install_in_progress,
// text in doc.value.$; the wire ledger). The text's format is not public (assumed):
// the fake answers "Installing <template>: <n>%" during an install, n =
// elapsed × 100 / install duration (0–99), and an empty document (no
// value) when no install runs or for another hint_field. The caller holds
// s.mu.
func (s *Server) serverHint(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	sv, err := s.lookup(c, c.Req.Elid)
	if err != nil {
		return nil, err
	}
	d := mgr5.NewDoc()
	in := sv.install
	if c.Req.Get("hint_field") != "install_in_progress" || in == nil {
		return d, nil
	}
	pct := 0
	if total := in.until.Sub(in.start); total > 0 {
		pct = int(int64(s.now().Sub(in.start)) * 100 / int64(total))
	}
	pct = min(max(pct, 0), 99)
	d.Add("value", fmt.Sprintf("Installing %s: %d%%", in.template, pct))
	return d, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (s *Server) serverEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Elid)
	if err != nil {
		return nil, err
	}
	r := c.Req
	if r.Sok {
		name := r.Get("name")
		if name == "" {
			return nil, badValue("name", "The field 'name' is required")
		}
		var owner int64
		switch o := r.Get("owner"); o {
		case "", "no_owner":
		default:
			id, err := strconv.ParseInt(o, 10, 64)
			if _, ok := s.users[id]; err != nil || !ok {
				return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "owner", Value: o, Message: "Invalid value of the field 'owner'"}
			}
			owner = id
		}
		sv.name, sv.mac, sv.notes, sv.typ, sv.owner = name, r.Get("mac"), r.Get("notes"), r.Get("type"), owner
		return mgr5.NewDoc().OK(), nil
	}
	d := mgr5.NewDoc()
	d.Add("elid", strconv.FormatInt(sv.id, 10))
	d.Add("name", sv.name)
	d.Add("mac", sv.mac)
	d.Add("notes", sv.notes)
	d.Add("type", sv.typ)
	if sv.owner != 0 {
		d.Add("owner", strconv.FormatInt(sv.owner, 10))
	} else {
		d.Add("owner", "no_owner")
	}
	d.Add("disabled", onOff(sv.disabled))
	sl := d.Add("slist", "").Attr("name", "owner")
	sl.Add("val", "-- no owner --").Attr("key", "no_owner")
	for _, u := range s.usersInOrder() {
		sl.Add("val", u.name).Attr("key", strconv.FormatInt(u.id, 10))
	}
	return d, nil
}

// usersInOrder returns the users in id order; the caller holds s.mu.
func (s *Server) usersInOrder() []*user {
	out := make([]*user, 0, len(s.users))
	for i := int64(1); i <= s.nextUser; i++ {
		if u, ok := s.users[i]; ok {
			out = append(out, u)
		}
	}
	return out
}

// switchAll starts switching every Switch connection of sv; s.mu held.
func (s *Server) switchAll(sv *server, on bool) {
	until := s.now().Add(s.opts.conn)
	for _, cn := range sv.conns {
		if cn.typ == "Switch" {
			cn.target, cn.inProgress, cn.busyUntil = on, true, until
		}
	}
}

func (s *Server) serverEnable(enable bool) mgr5fake.HandlerFunc {
	return func(c *mgr5fake.Ctx) (*mgr5.Node, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		svs, err := s.lookupAll(c)
		if err != nil {
			return nil, err
		}
		for _, sv := range svs {
			sv.disabled = !enable
			s.switchAll(sv, enable)
		}
		return mgr5.NewDoc().OK(), nil
	}
}

func (s *Server) serverPower(target string) mgr5fake.HandlerFunc {
	return func(c *mgr5fake.Ctx) (*mgr5.Node, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		svs, err := s.lookupAll(c)
		if err != nil {
			return nil, err
		}
		for _, sv := range svs {
			if sv.disabled && !isAdmin(c) {
				return nil, &mgr5.Error{Type: mgr5.TypeAccess, Object: "server", Value: strconv.FormatInt(sv.id, 10), Message: "The server is disabled"}
			}
		}
		for _, sv := range svs {
			sv.powerOp = &timedOp{target: target, until: s.now().Add(s.opts.power)}
		}
		return mgr5.NewDoc().OK(), nil
	}
}

func (s *Server) templateKnown(id string) bool {
	for _, t := range s.templates {
		if t.ID == id {
			return true
		}
	}
	return false
}

func (s *Server) recipeKnown(id string) bool {
	if id == "" || id == "null" {
		return true
	}
	for _, r := range s.recipes {
		if r == id {
			return true
		}
	}
	return false
}

func (s *Server) serverOperations(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Elid)
	if err != nil {
		return nil, err
	}
	r := c.Req
	if !r.Sok {
		d := mgr5.NewDoc()
		d.Add("elid", strconv.FormatInt(sv.id, 10))
		d.Add("operation", "ostemplate")
		d.Add("ostemplate", sv.osTemplate)
		d.Add("recipe", "null")
		sl := d.Add("slist", "").Attr("name", "ostemplate")
		for _, t := range s.templates {
			sl.Add("val", t.Name).Attr("key", t.ID)
		}
		rl := d.Add("slist", "").Attr("name", "recipe")
		rl.Add("val", "-- none --").Attr("key", "null")
		for _, rc := range s.recipes {
			rl.Add("val", rc).Attr("key", rc)
		}
		return d, nil
	}
	if b := r.Get("clicked_button"); b != "" && b != "ok" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "clicked_button", Value: b}
	}
	if op := r.Get("operation"); op != "ostemplate" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "operation", Value: op, Message: "Unsupported operation"}
	}
	if !s.templateKnown(r.Get("ostemplate")) {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "ostemplate", Value: r.Get("ostemplate"), Message: "Unknown OS template '__value__'"}
	}
	pw := r.Get("passwd")
	if pw == "" {
		return nil, badValue("passwd", "The password is required")
	}
	if r.Get("confirm") != pw {
		return nil, badValue("confirm", "The passwords do not match")
	}
	if r.Has("checkpasswd") && r.Get("checkpasswd") != pw {
		return nil, badValue("checkpasswd", "The passwords do not match")
	}
	if !s.recipeKnown(r.Get("recipe")) {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "recipe", Value: r.Get("recipe"), Message: "Unknown recipe '__value__'"}
	}
	if sv.install != nil {
		return nil, badValue("operation", "Another operation is in progress on this server")
	}
	if sv.disabled && !isAdmin(c) {
		return nil, &mgr5.Error{Type: mgr5.TypeAccess, Object: "server", Message: "The server is disabled"}
	}
	sv.installs++
	sv.operationFailed = false
	sv.powerOp = nil
	sv.power = powerOn
	sv.installHostname = r.Get("hostname")
	sv.install = &installOp{template: r.Get("ostemplate"), recipe: r.Get("recipe"), hostname: r.Get("hostname"),
		start: s.now(), until: s.now().Add(s.opts.install), fail: sv.failNextInstall}
	sv.failNextInstall = false
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) serverOperCancel(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	svs, err := s.lookupAll(c)
	if err != nil {
		return nil, err
	}
	for _, sv := range svs {
		sv.install = nil
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) conn(c *mgr5fake.Ctx) (*server, *conn, error) {
	sv, err := s.lookup(c, c.Req.Plid)
	if err != nil {
		return nil, nil, err
	}
	for _, cn := range sv.conns {
		if strconv.FormatInt(cn.id, 10) == c.Req.Elid {
			return sv, cn, nil
		}
	}
	return nil, nil, missed("elid", c.Req.Elid)
}

func (s *Server) connList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Elid)
	if err != nil {
		return nil, err
	}
	d := mgr5.NewDoc()
	for _, cn := range sv.conns {
		e := d.Elem()
		e.Add("id", strconv.FormatInt(cn.id, 10))
		e.Add("type", cn.typ)
		e.Add("name", cn.name)
		e.Add("status", onOff(cn.on))
		e.FlagIf("func_in_progress", cn.inProgress)
	}
	return d, nil
}

func (s *Server) connEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, cn, err := s.conn(c)
	if err != nil {
		return nil, err
	}
	if c.Req.Sok {
		if c.Req.Has("port") {
			cn.port = c.Req.Get("port")
		}
		if c.Req.Has("ip") {
			cn.ip = c.Req.Get("ip")
		}
		return mgr5.NewDoc().OK(), nil
	}
	d := mgr5.NewDoc()
	d.Add("elid", strconv.FormatInt(cn.id, 10))
	d.Add("type", cn.typ)
	d.Add("name", cn.name)
	switch cn.typ {
	case "Switch":
		d.Add("port", cn.port)
	case "IPMI":
		d.Add("ip", cn.ip)
	}
	return d, nil
}

func (s *Server) connToggle(on bool) mgr5fake.HandlerFunc {
	return func(c *mgr5fake.Ctx) (*mgr5.Node, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, cn, err := s.conn(c)
		if err != nil {
			return nil, err
		}
		cn.target, cn.inProgress, cn.busyUntil = on, true, s.now().Add(s.opts.conn)
		return mgr5.NewDoc().OK(), nil
	}
}

func (s *Server) ipList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Elid)
	if err != nil {
		return nil, err
	}
	var groups []string
	byGroup := map[string][]*ipRec{}
	for id := int64(1); id <= s.nextIP; id++ {
		r, ok := s.ips[id]
		if !ok || r.server != sv.id {
			continue
		}
		if _, seen := byGroup[r.group]; !seen {
			groups = append(groups, r.group)
		}
		byGroup[r.group] = append(byGroup[r.group], r)
	}
	d := mgr5.NewDoc()
	for _, g := range groups {
		h := d.Elem()
		h.Add("id", "group_"+g)
		h.Add("ip", g)
		h.Add("type", "group")
		for _, r := range byGroup[g] {
			e := d.Elem()
			e.Add("id", strconv.FormatInt(r.id, 10))
			e.Add("ip", r.addr.String())
			e.Add("domain", r.domain)
			e.Add("iptype", r.group)
			e.Add("family", r.family)
		}
	}
	return d, nil
}

func (s *Server) ipEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Plid)
	if err != nil {
		return nil, err
	}
	r := c.Req
	var rec *ipRec
	if r.Elid != "" {
		id, _ := strconv.ParseInt(r.Elid, 10, 64)
		rec = s.ips[id]
		if rec == nil || rec.server != sv.id {
			return nil, missed("elid", r.Elid)
		}
	}
	if !r.Sok {
		d := mgr5.NewDoc()
		if rec != nil {
			d.Add("elid", strconv.FormatInt(rec.id, 10))
			d.Add("ip", rec.addr.String())
			d.Add("domain", rec.domain)
			d.Add("family", rec.family)
			d.Add("iptype", rec.group)
		} else {
			d.Add("ip", "")
			d.Add("family", "ipv4")
			d.Add("iptype", "public")
		}
		return d, nil
	}
	if rec != nil {
		if r.Has("domain") {
			rec.domain = r.Get("domain")
		}
		return mgr5.NewDoc().OK(), nil
	}
	family := r.Get("family")
	if family == "" {
		family = "ipv4"
	}
	if family != "ipv4" && family != "ipv6" {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "family", Value: family}
	}
	group := r.Get("iptype")
	if group == "" {
		group = "public"
	}
	var addr netip.Addr
	if ip := r.Get("ip"); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || familyOf(a) != family {
			return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "ip", Value: ip}
		}
		if _, used := s.used[a]; used {
			return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "ip", Value: ip}
		}
		addr = a
	} else {
		if !s.hasPool(group, family) {
			return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "iptype", Value: group, Message: fmt.Sprintf("No %s pool in the IP group '%s'", family, group)}
		}
		a, ok := s.allocate(group, family)
		if !ok {
			return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "ip", Message: fmt.Sprintf("No free %s address in the IP group '%s'", family, group)}
		}
		addr = a
	}
	rec = s.assignIP(sv, addr, group, r.Get("domain"))
	d := mgr5.NewDoc().OK()
	d.Add("id", strconv.FormatInt(rec.id, 10))
	d.Add("ip", addr.String())
	return d, nil
}

func (s *Server) ipDelete(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Plid)
	if err != nil {
		return nil, err
	}
	var recs []*ipRec
	gone := map[int64]bool{}
	for _, e := range c.Req.Elids() {
		id, _ := strconv.ParseInt(e, 10, 64)
		rec := s.ips[id]
		if rec == nil || rec.server != sv.id {
			return nil, missed("elid", e)
		}
		if !gone[rec.id] {
			recs = append(recs, rec)
			gone[rec.id] = true
		}
	}
	if len(recs) == 0 {
		return nil, missed("elid", "")
	}
	// The main address may go only when another address is left: the
	// lowest id of the rest becomes the main one (and the hostname follows
	// its domain).
	var next int64
	for id, rec := range s.ips {
		if rec.server == sv.id && !gone[id] && (next == 0 || id < next) {
			next = id
		}
	}
	if gone[sv.mainIP] && next == 0 {
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "elid", Value: strconv.FormatInt(sv.mainIP, 10),
			Message: "The main IP address of a server cannot be deleted while it is the server's only address"}
	}
	for _, rec := range recs {
		delete(s.ips, rec.id)
		delete(s.used, rec.addr)
	}
	if gone[sv.mainIP] {
		sv.mainIP = next
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) osList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := mgr5.NewDoc()
	for _, t := range s.templates {
		e := d.Elem()
		e.Add("id", t.ID)
		e.Add("name", t.Name)
		e.Add("repo", t.Repo)
		e.Add("ostype", t.OSType)
	}
	return d, nil
}

func (s *Server) userList(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := mgr5.NewDoc()
	for _, u := range s.usersInOrder() {
		e := d.Elem()
		e.Add("id", strconv.FormatInt(u.id, 10))
		e.Add("name", u.name)
		e.Add("level", strconv.Itoa(u.level))
	}
	return d, nil
}

func (s *Server) userEdit(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	r := c.Req
	s.mu.Lock()
	var u *user
	if r.Elid != "" {
		id, _ := strconv.ParseInt(r.Elid, 10, 64)
		u = s.users[id]
		if u == nil {
			s.mu.Unlock()
			return nil, missed("elid", r.Elid)
		}
	}
	if !r.Sok {
		defer s.mu.Unlock()
		d := mgr5.NewDoc()
		if u != nil {
			d.Add("elid", strconv.FormatInt(u.id, 10))
			d.Add("name", u.name)
			d.Add("level", strconv.Itoa(u.level))
		}
		return d, nil
	}
	if u != nil {
		defer s.mu.Unlock()
		return s.userSetPassword(u, r)
	}
	name, pw := r.Get("name"), r.Get("passwd")
	var level int
	switch r.Get("level") {
	case "lvUser", "", "16":
		level = LevelUser
	case "lvAdmin", "28":
		level = LevelAdmin
	default:
		s.mu.Unlock()
		return nil, &mgr5.Error{Type: mgr5.TypeValue, Object: "level", Value: r.Get("level")}
	}
	if name == "" {
		s.mu.Unlock()
		return nil, badValue("name", "The field 'name' is required")
	}
	if pw == "" {
		s.mu.Unlock()
		return nil, badValue("passwd", "The password is required")
	}
	if _, exists := s.userByName(name); exists {
		s.mu.Unlock()
		return nil, &mgr5.Error{Type: mgr5.TypeExists, Object: "user", Value: name}
	}
	s.nextUser++
	id := s.nextUser
	s.users[id] = &user{id: id, name: name, level: level}
	s.mu.Unlock()
	s.core.AddAccount(mgr5fake.Account{Name: name, Password: pw, Level: level})
	d := mgr5.NewDoc().OK()
	d.Add("id", strconv.FormatInt(id, 10))
	return d, nil
}

// userSetPassword handles user.edit with elid and sok: a non-empty passwd
// (equal to confirm when confirm is sent) replaces the user's login
// password; an empty one leaves it unchanged. The caller holds s.mu, so a
// concurrent user.delete cannot be undone by the login update.
func (s *Server) userSetPassword(u *user, r *mgr5.ServerRequest) (*mgr5.Node, error) {
	pw := r.Get("passwd")
	if r.Has("confirm") && r.Get("confirm") != pw {
		return nil, badValue("confirm", "The passwords do not match")
	}
	if pw != "" {
		s.core.AddAccount(mgr5fake.Account{Name: u.name, Password: pw, Level: u.level})
	}
	d := mgr5.NewDoc().OK()
	d.Add("id", strconv.FormatInt(u.id, 10))
	return d, nil
}

func (s *Server) userDelete(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	var del []*user
	for _, e := range c.Req.Elids() {
		id, _ := strconv.ParseInt(e, 10, 64)
		u := s.users[id]
		if u == nil {
			s.mu.Unlock()
			return nil, missed("elid", e)
		}
		del = append(del, u)
	}
	if len(del) == 0 {
		s.mu.Unlock()
		return nil, missed("elid", "")
	}
	for _, u := range del {
		delete(s.users, u.id)
		for _, sv := range s.servers {
			if sv.owner == u.id {
				sv.owner = 0
			}
		}
	}
	s.mu.Unlock()
	for _, u := range del {
		s.core.AddAccount(mgr5fake.Account{Name: u.name, Password: mgr5.RandomKey(32), Level: u.level, Disabled: true})
	}
	return mgr5.NewDoc().OK(), nil
}

func (s *Server) ipmiRedirect(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sv, err := s.lookup(c, c.Req.Elid)
	if err != nil {
		return nil, err
	}
	// The WHMCS module sends newwindow=yes and value="IPMI S<id>" (the
	// button's label); the target does not depend on them.
	c.Req.Get("newwindow")
	c.Req.Get("value")
	for _, cn := range sv.conns {
		if cn.typ == "IPMI" {
			d := mgr5.NewDoc()
			d.Add("ok", "https://"+cn.ip+"/")
			return d, nil
		}
	}
	return nil, missed("ipmi", c.Req.Elid)
}

func (s *Server) traffic(c *mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := mgr5.NewDoc()
	rep := d.Add("reportdata", "").Add("servers", "")
	for _, id := range s.order {
		sv := s.servers[id]
		e := rep.Elem()
		e.Add("id", strconv.FormatInt(sv.id, 10))
		e.Add("name", sv.name)
		e.Add("burst", strconv.FormatFloat(sv.traffic, 'f', 2, 64))
	}
	return d, nil
}

// networkList is the fake's answer to ipnet (an assumed function name,
// see dcimanager5.NetworksService.List): one row per pool.
func (s *Server) networkList(*mgr5fake.Ctx) (*mgr5.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := mgr5.NewDoc()
	for i, p := range s.pools {
		e := doc.Elem()
		e.Add("id", strconv.Itoa(i+1))
		e.Add("name", p.prefix.String())
		e.Add("iptype", p.group)
		e.Add("family", p.family)
	}
	return doc, nil
}
