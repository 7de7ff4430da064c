<?php
// A stand-in for WHMCS in the bridge's tests: it defines the helpers the
// module uses (logModuleCall, localAPI), loads the module and calls one of
// its functions with the $params read as JSON from stdin.
//
//   php whmcs_harness.php <module file> <function suffix> < params.json
//
// It prints one JSON object: the function's return value, the module log
// entries (as the module passed them; the replace variables are recorded as
// SHA-256 digests so that the test can check them without seeing them) and
// the localAPI calls.

define('WHMCS', true);

$GLOBALS['harness_log'] = array();
$GLOBALS['harness_api'] = array();

function logModuleCall($module, $action, $requestString, $responseData, $processedData = '', $replaceVars = array())
{
    $text = function ($v) {
        return is_string($v) ? $v : json_encode($v);
    };
    $digests = array();
    foreach ((array) $replaceVars as $v) {
        $digests[] = hash('sha256', (string) $v);
    }
    $GLOBALS['harness_log'][] = array(
        'module' => $module,
        'action' => $action,
        'request' => $text($requestString),
        'response' => $text($responseData),
        'processed' => $text($processedData),
        'replace_sha256' => $digests,
    );
}

function localAPI($command, $values, $adminUser = '')
{
    $GLOBALS['harness_api'][] = array('command' => $command, 'values' => $values);
    return array('result' => 'success');
}

if ($argc !== 3) {
    fwrite(STDERR, "usage: php whmcs_harness.php <module file> <function suffix> < params.json\n");
    exit(2);
}
require $argv[1];
$module = basename($argv[1], '.php');
$fn = $module . '_' . $argv[2];
if (!function_exists($fn)) {
    fwrite(STDERR, "no function $fn\n");
    exit(2);
}
$params = json_decode(stream_get_contents(STDIN), true);
if (!is_array($params)) {
    fwrite(STDERR, "stdin is not a JSON object\n");
    exit(2);
}
$result = call_user_func($fn, $params);
echo json_encode(array('result' => $result, 'log' => $GLOBALS['harness_log'], 'localapi' => $GLOBALS['harness_api'])), "\n";
