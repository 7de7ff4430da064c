package billmanager

// This file is the single place that says where every function and
// parameter this client sends comes from. Nothing else in the package
// spells a function or parameter name; a test checks that every request the
// client makes uses only what is listed here. Correcting a guess means
// editing this file (and billmanagertest, which models the same calls).
//
// Sources:
//
//	[C]  ISPsystem's documentation: "Reselling of ISPmanager 6 licenses via
//	     API" and "Reselling third-party licenses via API" (BILLmanager 5
//	     documentation, docs.ispsystem.com/billmanager/reselling/…; the same
//	     pages on ispmanager.com/docs/reselling/…), "Guide to ISPsystem
//	     software API" (authinfo and func=auth), "Processing of ISPsystem
//	     licenses" for the DCImanager module (the free.lic / 0.0.0.0 pool)
//	     and the BILLmanager 6 API reference pages "Other software
//	     (softexternal)" (list fields, resume with elid) and "Dedicated
//	     servers (dedic)".
//	[C3] a public WHMCS server module that resells ISPsystem licenses
//	     through BILLmanager ("billmanager_noc" in
//	     github.com/460s/ispsystem_whmcs_modules): it relies on soft.edit
//	     (view: lickey, expiredate; change: licname, ip, remoteid; new key:
//	     clicked_button=newkey), soft.suspend, soft.resume, service.prolong
//	     (answer doc/doc/newexpiredate) and the order parameters remoteid,
//	     project and clicked_button=finish.
//	[I]  inferred by analogy with a documented sibling (the softexternal
//	     functions, or the common shape of BILLmanager lists).
//	[G]  no public source: ispkit's choice, to check on a real BILLmanager.

// Function names.
const (
	// [C] Log in: func=auth username password → doc/auth id (the session
	// is sent as auth=… afterwards, valid one hour of inactivity).
	fnAuth = "auth"
	// [C] Order a license: soft.order.param (see the parameters below).
	fnOrder = "soft.order.param"
	// [C3] View a license (elid) or change it (elid, sok=ok, licname, ip);
	// with clicked_button=newkey it generates a new key. [C] for the
	// change as softexternal.edit.
	fnEdit = "soft.edit"
	// [I] The list of the account's licenses (the softexternal list is
	// documented; soft is its sibling for ISPsystem's own software).
	fnList = "soft"
	// [C3] Suspend a license (elid).
	fnSuspend = "soft.suspend"
	// [C3] Resume a license (elid); [C] for softexternal.resume.
	fnResume = "soft.resume"
	// [C3] Renew a service (elid, period, sok=ok).
	fnProlong = "service.prolong"
)

// Parameter names and fixed values.
const (
	// [C] soft.order.param: tariff code (ISPmanager 6 Lite 55227, Pro
	// 55228, Host 55229, Business 55230), period in months (1 or 12),
	// licence IP, licence name, autoprolong (1, 12 or "null"),
	// skipbasket=on (charge at once instead of leaving the order in the
	// cart), sok=ok (required), clicked_button=finish (in the documented
	// example call).
	pPricelist     = "pricelist"
	pPeriod        = "period"
	pIP            = "ip"
	pLicName       = "licname"
	pAutoProlong   = "autoprolong"
	pSkipBasket    = "skipbasket"
	pClickedButton = "clicked_button"
	// [C3] soft.order.param / soft.edit: the buyer's own id for the
	// license, and the provider (project) to order from.
	pRemoteID = "remoteid"
	pProject  = "project"

	vSkipBasket  = "on"
	vFinish      = "finish"
	vNewKey      = "newkey"        // [C3] clicked_button of soft.edit
	vNoProlong   = "null"          // [C] autoprolong without renewal
	freeName     = "free.lic"      // [C] name of a license in the pool
	freeIP       = "0.0.0.0"       // [C] IP of a license in the pool
	answerKey    = "lickey"        // [C3] soft.edit: the license key
	answerExpire = "expiredate"    // [C3] soft.edit; [C] softexternal list
	answerNewExp = "newexpiredate" // [C3] service.prolong, inside doc/doc

	// [C] softexternal list columns, assumed [I] for soft: id, licname,
	// ip, pricelist, expiredate, status_msg, item_status.
	colID        = "id"
	colStatus    = "item_status" // [G] its values: see parseStatus
	colStatusMsg = "status_msg"
)

// protocolParams are sent by the mgr5 layer with every call: func, out=json
// [C], authinfo or auth [C], lang [C], elid [C] and sok [C].
var protocolParams = []string{"func", "out", "authinfo", "auth", "lang", "elid", "sok"}

// ledger lists, per function, the parameters the client may send besides
// protocolParams. It is what the client is checked against.
var ledger = map[string][]string{
	fnAuth:    {"username", "password"},
	fnOrder:   {pPricelist, pPeriod, pIP, pLicName, pAutoProlong, pSkipBasket, pClickedButton, pRemoteID, pProject},
	fnEdit:    {pLicName, pIP, pClickedButton, pRemoteID},
	fnList:    {},
	fnSuspend: {},
	fnResume:  {},
	fnProlong: {pPeriod},
}
