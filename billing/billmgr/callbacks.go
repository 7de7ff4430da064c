package billmgr

import (
	"context"
	"strconv"
	"time"
)

// Callback is a BILLmanager function that reports a finished command and
// closes its running operation ("set service status to … and delete running
// operation", ISPsystem's module examples). Without it the running
// operation stays open.
type Callback string

// The completion callbacks of ISPsystem's module helpers (C++ base, PHP and
// Python examples). All are sent with elid=<item> sok=ok.
const (
	PostOpen           Callback = "service.postopen"
	PostSuspend        Callback = "service.postsuspend"
	PostResume         Callback = "service.postresume"
	PostClose          Callback = "service.postclose"
	PostSetParam       Callback = "service.postsetparam"
	PostProlong        Callback = "service.postprolong"
	PostReopen         Callback = "service.postreopen"
	PostChangePassword Callback = "service.postchangepassword"
)

// CallbackFor returns the completion callback of an action command, and
// false for commands that have none.
func CallbackFor(c Command) (Callback, bool) {
	switch c {
	case CmdOpen:
		return PostOpen, true
	case CmdSuspend:
		return PostSuspend, true
	case CmdResume:
		return PostResume, true
	case CmdClose:
		return PostClose, true
	case CmdSetParam:
		return PostSetParam, true
	case CmdProlong:
		return PostProlong, true
	case CmdReopen:
		return PostReopen, true
	case CmdChangePassword:
		return PostChangePassword, true
	}
	return "", false
}

// Post reports that the command on item is done: mgrctl <cb> elid=<item>
// sok=ok.
func (m *Mgrctl) Post(ctx context.Context, cb Callback, item int64) error {
	return m.exec(ctx, string(cb), item, nil)
}

// SaveParam saves an item parameter: service.saveparam elid=<item>
// name=<name> value=<value> sok=ok (an empty value drops it). Never pass a
// secret (see [Mgrctl]).
func (m *Mgrctl) SaveParam(ctx context.Context, item int64, name, value string) error {
	return m.exec(ctx, "service.saveparam", item, map[string]string{"name": name, "value": value})
}

// SetStatus sets the item's status: service.setstatus elid=<item>
// service_status=<code> sok=ok. The codes are type-specific; billing's
// Status.Code gives the generic item status.
func (m *Mgrctl) SetStatus(ctx context.Context, item int64, code int) error {
	return m.exec(ctx, "service.setstatus", item, map[string]string{"service_status": strconv.Itoa(code)})
}

// SetExpireDate sets the item's expiry date: service.setexpiredate
// elid=<item> expiredate=YYYY-MM-DD sok=ok.
func (m *Mgrctl) SetExpireDate(ctx context.Context, item int64, date time.Time) error {
	return m.exec(ctx, "service.setexpiredate", item, map[string]string{"expiredate": date.Format(time.DateOnly)})
}

// OperationError stores err on running operation op, where staff see it:
// runningoperation.edit elid=<op> errorxml=<doc> sok=ok, with the document
// of [MarshalOperationErrorXML].
func (m *Mgrctl) OperationError(ctx context.Context, op int64, err error) error {
	doc, merr := MarshalOperationErrorXML(err)
	if merr != nil {
		return merr
	}
	return m.exec(ctx, "runningoperation.edit", op, map[string]string{"errorxml": string(doc)})
}

// SetManual switches running operation op to manual re-run (BILLmanager
// stops retrying it): runningoperation.setmanual elid=<op> sok=ok.
func (m *Mgrctl) SetManual(ctx context.Context, op int64) error {
	return m.exec(ctx, "runningoperation.setmanual", op, nil)
}

// ProcessingModule returns the connection parameters of processing module
// id as typed in its form (processing.edit elid=<id>): url, username,
// password and the module's own parameters, by name. The values may
// include the password: do not log them.
func (m *Mgrctl) ProcessingModule(ctx context.Context, id int64) (map[string]string, error) {
	return m.Form(ctx, "processing.edit", id)
}
