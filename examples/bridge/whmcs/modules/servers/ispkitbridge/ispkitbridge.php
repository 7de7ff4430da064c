<?php
/**
 * ispkitbridge: a WHMCS server (provisioning) module that sells dedicated
 * servers (DCImanager) and hosting accounts (ISPmanager) through the ispkit
 * bridge (examples/bridge), an HTTP JSON service over the ispkit
 * provisioning engine. The module holds no state: every call goes to the
 * bridge, which is idempotent by service id, so WHMCS may repeat any action.
 *
 * Install: copy the directory modules/servers/ispkitbridge into the WHMCS
 * root (…/modules/servers/ispkitbridge/ispkitbridge.php). Then:
 *
 *   - System Settings → Servers → Add New Server: module "ispkit bridge";
 *     Hostname = the bridge's host (or a full URL such as
 *     https://bridge.example.com:8443); Access Hash (or Password) = the
 *     bridge's token; tick "Secure" for HTTPS; the port is 8443 (SSL) or
 *     8080 unless you change it.
 *   - Products/Services → Module Settings: module "ispkit bridge", Plan =
 *     a plan id of the bridge (GET /v1/plans: 1 dedicated, 2 hosting with
 *     the fakes); optional default OS template and recipe; how long
 *     CreateAccount may wait for the OS install (720 s, as DCImanager's own
 *     WHMCS module).
 *   - Configurable options or custom fields named OS (or os, ostemplate),
 *     recipe, IP (extra IPv4 addresses) and IPv6 are passed to the order as
 *     they are (the names of ISPsystem's DCImanager module for WHMCS). The
 *     bridge accepts only the values its plan offers (GET /v1/plans,
 *     "choices"): offer those.
 *
 * What each WHMCS function does (WHMCS provisioning module conventions:
 * developers.whmcs.com/provisioning-modules/):
 *
 *   CreateAccount       POST /v1/services/{serviceid}/create, then follows the
 *                       operation until it ends or the configured wait is
 *                       over (the service then stays Pending; run Create
 *                       again to keep waiting: the bridge returns the same
 *                       operation). On success the service's username and
 *                       addresses are written back with localAPI
 *                       UpdateClientProduct when available.
 *   SuspendAccount      POST …/suspend      (switch ports off / account suspended)
 *   UnsuspendAccount    POST …/unsuspend
 *   TerminateAccount    POST …/terminate    (server released / account deleted)
 *   ChangePassword      POST …/change-password
 *   ServiceSingleSignOn POST …/login-link   (one-time panel log-in link)
 *   TestConnection      GET  /v1/plans      (checks the address and the token)
 *
 * Mapping of WHMCS's $params: serviceid → the bridge's service id; username
 * → owner (the panel user is derived from it; empty: "whmcs<userid>");
 * password → password; domain → domain (server hostname or account
 * domain); userid → account_id; configoption1..4 → plan, default OS
 * template, default recipe, wait; configoptions and customfields OS / os /
 * ostemplate / recipe / IP / IPv6 → options; serverhostname (or serverip),
 * serversecure, serverport → the bridge's URL; serveraccesshash (or
 * serverpassword) → the bearer token.
 *
 * Assumption (not confirmed by the public WHMCS API reference, which shows
 * serviceid and serviceusername): UpdateClientProduct also takes
 * dedicatedip and assignedips, the tblhosting columns where WHMCS keeps a
 * service's addresses. The write-back is best effort: its failure is
 * logged, never returned as the action's failure.
 *
 * Secrets: the token and the passwords are never part of a returned error
 * or of the module log (the request is logged with the password masked and
 * both are passed to logModuleCall as replace variables).
 */

if (!defined('WHMCS')) {
    die('This file cannot be accessed directly');
}

function ispkitbridge_MetaData()
{
    return array(
        'DisplayName' => 'ispkit bridge',
        'APIVersion' => '1.1',
        'RequiresServer' => true,
        'DefaultNonSSLPort' => '8080',
        'DefaultSSLPort' => '8443',
        'ServiceSingleSignOnLabel' => 'Log in to the control panel',
    );
}

function ispkitbridge_ConfigOptions()
{
    return array(
        // configoption1
        'Plan' => array(
            'Type' => 'text',
            'Size' => '10',
            'Description' => 'Plan id at the bridge (GET /v1/plans)',
        ),
        // configoption2
        'OS template' => array(
            'Type' => 'text',
            'Size' => '40',
            'Description' => 'Default OS template id (dedicated) when the order has no OS option',
        ),
        // configoption3
        'Recipe' => array(
            'Type' => 'text',
            'Size' => '40',
            'Description' => 'Default recipe (dedicated), e.g. #local__lamp; empty: the plan\'s',
        ),
        // configoption4
        'Wait (seconds)' => array(
            'Type' => 'text',
            'Size' => '5',
            'Default' => '720',
            'Description' => 'How long an action waits for the bridge before it reports "still running"',
        ),
    );
}

/** The longest single wait the module asks the bridge for (its -max-wait is 120 s by default). */
define('ISPKITBRIDGE_POLL_SECONDS', 25);

/**
 * The bridge's base URL from the server's settings.
 */
function ispkitbridge_baseURL(array $params)
{
    $host = trim(isset($params['serverhostname']) ? (string) $params['serverhostname'] : '');
    if ($host === '') {
        $host = trim(isset($params['serverip']) ? (string) $params['serverip'] : '');
    }
    if ($host === '') {
        throw new Exception('the server has no hostname or IP address');
    }
    if (preg_match('#^https?://#i', $host)) {
        return rtrim($host, '/');
    }
    $secure = !empty($params['serversecure']) && $params['serversecure'] !== 'off';
    if (strpos($host, ':') !== false && strpos($host, '[') !== 0) {
        $host = '[' . $host . ']'; // IPv6 literal
    }
    $url = ($secure ? 'https' : 'http') . '://' . $host;
    $port = isset($params['serverport']) ? trim((string) $params['serverport']) : '';
    if ($port !== '' && ctype_digit($port)) {
        $url .= ':' . $port;
    }
    return $url;
}

function ispkitbridge_token(array $params)
{
    $t = isset($params['serveraccesshash']) ? trim((string) $params['serveraccesshash']) : '';
    if ($t === '' && isset($params['serverpassword'])) {
        $t = trim((string) $params['serverpassword']);
    }
    if ($t === '') {
        throw new Exception('the server has no token: put the bridge\'s token in Access Hash or Password');
    }
    return $t;
}

function ispkitbridge_serviceID(array $params)
{
    $id = isset($params['serviceid']) ? (string) $params['serviceid'] : '';
    if (!preg_match('/^[A-Za-z0-9_-]{1,64}$/', $id)) {
        throw new Exception('the service has no usable id');
    }
    return $id;
}

/**
 * The total wait of an action, from configoption4 (default 720 s).
 */
function ispkitbridge_waitSeconds(array $params)
{
    $w = isset($params['configoption4']) ? trim((string) $params['configoption4']) : '';
    if ($w === '' || !ctype_digit($w)) {
        return 720;
    }
    return (int) $w;
}

/**
 * One call of the bridge. Returns array(status, decoded body). Throws on a
 * transport failure. Logs the call (password masked) with logModuleCall
 * when WHMCS provides it.
 */
function ispkitbridge_call(array $params, $action, $method, $path, $body = null, $timeout = 30)
{
    $url = ispkitbridge_baseURL($params) . $path;
    $token = ispkitbridge_token($params);
    $secrets = array($token);
    $logged = $method . ' ' . $path;
    $payload = null;
    if ($body !== null) {
        $payload = json_encode($body);
        $masked = $body;
        if (isset($masked['password']) && $masked['password'] !== '') {
            $secrets[] = (string) $masked['password'];
            $masked['password'] = '********';
        }
        $logged .= ' ' . json_encode($masked);
    }
    $ch = curl_init($url);
    $headers = array('Authorization: Bearer ' . $token, 'Accept: application/json');
    if ($payload !== null) {
        $headers[] = 'Content-Type: application/json';
        curl_setopt($ch, CURLOPT_POSTFIELDS, $payload);
    }
    curl_setopt($ch, CURLOPT_CUSTOMREQUEST, $method);
    curl_setopt($ch, CURLOPT_HTTPHEADER, $headers);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($ch, CURLOPT_CONNECTTIMEOUT, 10);
    curl_setopt($ch, CURLOPT_TIMEOUT, $timeout);
    curl_setopt($ch, CURLOPT_FOLLOWLOCATION, false);
    $raw = curl_exec($ch);
    $errno = curl_errno($ch);
    $error = curl_error($ch);
    $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    curl_close($ch);
    if ($raw === false || $errno !== 0) {
        ispkitbridge_log($action, $logged, 'transport error: ' . $error, '', $secrets);
        throw new Exception('cannot reach the ispkit bridge: ' . $error);
    }
    $decoded = json_decode($raw, true);
    $shown = $raw;
    if (is_array($decoded) && isset($decoded['url'])) {
        $shown = '{"url": "(one-time log-in link, not logged)"}';
    }
    ispkitbridge_log($action, $logged, 'HTTP ' . $status . ' ' . $shown, is_array($decoded) ? $decoded : '', $secrets);
    return array($status, is_array($decoded) ? $decoded : null);
}

function ispkitbridge_log($action, $request, $response, $processed, array $secrets)
{
    if (!function_exists('logModuleCall')) {
        return;
    }
    if (is_array($processed) && isset($processed['url'])) {
        $processed['url'] = '(not logged)';
    }
    logModuleCall('ispkitbridge', $action, $request, $response, $processed, $secrets);
}

/**
 * The text of an error answer: "<code>: <message>".
 */
function ispkitbridge_errorText($status, $body)
{
    if (is_array($body) && isset($body['error']['code'])) {
        return 'ispkit bridge: ' . $body['error']['code'] . ': ' . (isset($body['error']['message']) ? $body['error']['message'] : '');
    }
    return 'ispkit bridge: unexpected answer (HTTP ' . $status . ')';
}

/**
 * Runs an action (POST) and follows its operation until it is finished or
 * the configured wait is over. Returns "success" or an error message.
 */
function ispkitbridge_action(array $params, $action, $verb, $body = null)
{
    try {
        $id = ispkitbridge_serviceID($params);
        $deadline = time() + ispkitbridge_waitSeconds($params);
        $wait = min(ISPKITBRIDGE_POLL_SECONDS, max(0, $deadline - time()));
        list($status, $answer) = ispkitbridge_call($params, $action, 'POST',
            '/v1/services/' . rawurlencode($id) . '/' . $verb . '?wait=' . $wait, $body, $wait + 30);
        if ($status !== 200 && $status !== 202) {
            return ispkitbridge_errorText($status, $answer);
        }
        if (!isset($answer['operation'])) {
            return 'success'; // nothing had to be done
        }
        $op = $answer['operation'];
        while (!in_array($op['state'], array('done', 'failed'), true)) {
            $left = $deadline - time();
            if ($left <= 0) {
                $step = isset($op['step']) ? ', step ' . $op['step'] : '';
                return 'ispkit bridge: still running (operation ' . $op['id'] . $step . '); run ' . $action . ' again to keep waiting';
            }
            $wait = min(ISPKITBRIDGE_POLL_SECONDS, $left);
            list($status, $got) = ispkitbridge_call($params, $action, 'GET',
                '/v1/operations/' . rawurlencode($op['id']) . '?wait=' . $wait, null, $wait + 30);
            if ($status !== 200) {
                return ispkitbridge_errorText($status, $got);
            }
            $op = $got;
        }
        if ($op['state'] === 'failed') {
            $code = isset($op['error']['code']) ? $op['error']['code'] : 'operation_failed';
            $msg = isset($op['error']['message']) ? $op['error']['message'] : '';
            return 'ispkit bridge: ' . $code . ': ' . $msg;
        }
        return 'success';
    } catch (Exception $e) {
        return $e->getMessage();
    }
}

/**
 * The order options from the configurable options and custom fields, with
 * the product's defaults for the OS template and the recipe.
 */
function ispkitbridge_options(array $params)
{
    $opts = array();
    foreach (array('customfields', 'configoptions') as $source) {
        if (empty($params[$source]) || !is_array($params[$source])) {
            continue;
        }
        foreach (array('OS', 'os', 'ostemplate', 'recipe', 'IP', 'IPv6') as $name) {
            if (isset($params[$source][$name]) && is_scalar($params[$source][$name])) {
                $v = trim((string) $params[$source][$name]);
                if ($v !== '') {
                    $opts[$name] = $v; // configurable options win over custom fields
                }
            }
        }
    }
    $hasOS = isset($opts['OS']) || isset($opts['os']) || isset($opts['ostemplate']);
    $os = isset($params['configoption2']) ? trim((string) $params['configoption2']) : '';
    if (!$hasOS && $os !== '') {
        $opts['ostemplate'] = $os;
    }
    $recipe = isset($params['configoption3']) ? trim((string) $params['configoption3']) : '';
    if (!isset($opts['recipe']) && $recipe !== '') {
        $opts['recipe'] = $recipe;
    }
    return $opts;
}

function ispkitbridge_CreateAccount(array $params)
{
    $plan = isset($params['configoption1']) ? trim((string) $params['configoption1']) : '';
    if (!ctype_digit($plan) || (int) $plan <= 0) {
        return 'ispkitbridge: the product\'s module setting "Plan" must be a plan id of the bridge';
    }
    $owner = isset($params['username']) ? trim((string) $params['username']) : '';
    if ($owner === '') {
        $owner = 'whmcs' . (isset($params['userid']) ? (int) $params['userid'] : 0);
    }
    $body = array(
        'plan' => (int) $plan,
        'owner' => $owner,
        'password' => isset($params['password']) ? (string) $params['password'] : '',
        'domain' => isset($params['domain']) ? (string) $params['domain'] : '',
        'account_id' => isset($params['userid']) ? (int) $params['userid'] : 0,
    );
    $opts = ispkitbridge_options($params);
    if (count($opts) > 0) {
        $body['options'] = $opts;
    }
    $result = ispkitbridge_action($params, 'CreateAccount', 'create', $body);
    if ($result !== 'success') {
        return $result;
    }
    try {
        list($status, $svc) = ispkitbridge_call($params, 'CreateAccount', 'GET',
            '/v1/services/' . rawurlencode(ispkitbridge_serviceID($params)));
    } catch (Exception $e) {
        return $e->getMessage();
    }
    if ($status !== 200 || !isset($svc['status'])) {
        return ispkitbridge_errorText($status, $svc);
    }
    if ($svc['status'] !== 'active' && $svc['status'] !== 'suspended') {
        // The order was handed to staff (a manual task): not active yet.
        return 'ispkit bridge: the service is ' . $svc['status'] . ' (handed to staff); run Create again once they have finished';
    }
    ispkitbridge_writeBack($params, $svc);
    return 'success';
}

/**
 * Writes what the service got (panel login, addresses) back into WHMCS.
 * Best effort: a failure is only logged.
 */
function ispkitbridge_writeBack(array $params, array $svc)
{
    if (!function_exists('localAPI') || !isset($svc['properties']) || !is_array($svc['properties'])) {
        return;
    }
    try {
        $p = $svc['properties'];
        $update = array('serviceid' => (int) $params['serviceid']);
        if (!empty($p['login'])) {
            $update['serviceusername'] = $p['login'];
        }
        if (!empty($p['ip'])) {
            $update['dedicatedip'] = $p['ip'];
        }
        if (!empty($p['ips'])) {
            $update['assignedips'] = implode("\n", array_filter(array_map('trim', explode(',', $p['ips']))));
        }
        if (count($update) > 1) {
            $r = localAPI('UpdateClientProduct', $update);
            if (!is_array($r) || !isset($r['result']) || $r['result'] !== 'success') {
                ispkitbridge_log('CreateAccount', 'localAPI UpdateClientProduct', json_encode($r), '', array());
            }
        }
    } catch (Exception $e) {
        ispkitbridge_log('CreateAccount', 'write back', $e->getMessage(), '', array());
    }
}

function ispkitbridge_SuspendAccount(array $params)
{
    return ispkitbridge_action($params, 'SuspendAccount', 'suspend');
}

function ispkitbridge_UnsuspendAccount(array $params)
{
    return ispkitbridge_action($params, 'UnsuspendAccount', 'unsuspend');
}

function ispkitbridge_TerminateAccount(array $params)
{
    return ispkitbridge_action($params, 'TerminateAccount', 'terminate');
}

function ispkitbridge_ChangePassword(array $params)
{
    return ispkitbridge_action($params, 'ChangePassword', 'change-password',
        array('password' => isset($params['password']) ? (string) $params['password'] : ''));
}

function ispkitbridge_ServiceSingleSignOn(array $params)
{
    try {
        list($status, $answer) = ispkitbridge_call($params, 'ServiceSingleSignOn', 'POST',
            '/v1/services/' . rawurlencode(ispkitbridge_serviceID($params)) . '/login-link');
        if ($status === 200 && isset($answer['url'])) {
            return array('success' => true, 'redirectTo' => $answer['url']);
        }
        return array('success' => false, 'errorMsg' => ispkitbridge_errorText($status, $answer));
    } catch (Exception $e) {
        return array('success' => false, 'errorMsg' => $e->getMessage());
    }
}

function ispkitbridge_TestConnection(array $params)
{
    try {
        list($status, $answer) = ispkitbridge_call($params, 'TestConnection', 'GET', '/v1/plans');
        if ($status === 200 && isset($answer['plans'])) {
            return array('success' => true, 'error' => '');
        }
        return array('success' => false, 'error' => ispkitbridge_errorText($status, $answer));
    } catch (Exception $e) {
        return array('success' => false, 'error' => $e->getMessage());
    }
}
