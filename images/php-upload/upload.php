<?php
// upload.php: the endpoint of the php-tmpfile-dentry incident.
//
// Touching $_POST makes PHP read the request body. PHP keeps a body up to
// 16 KiB (SAPI_POST_BLOCK_SIZE) in memory and spools anything larger to a
// fresh temporary file in upload_tmp_dir / sys_temp_dir (here /tmp), which
// it unlinks when the request ends. Every request thus creates and removes a
// file with a new random name, and each such name leaves a negative dentry
// behind, charged to the container's memory cgroup.
//
// The response is the total size, in bytes, of the parsed POST fields (keys
// plus values), so a load generator can check the body arrived whole.
header('Content-Type: text/plain');
$n = 0;
foreach ($_POST as $k => $v) {
    $n += strlen((string) $k);
    $n += is_array($v) ? strlen(http_build_query($v)) : strlen((string) $v);
}
echo $n, "\n";
