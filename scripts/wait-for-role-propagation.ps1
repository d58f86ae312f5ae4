# azd postprovision hook on Windows: the same wait as wait-for-role-propagation.sh (read that file for why).
$ErrorActionPreference = 'Stop'
$assignedText = if ($env:DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT) { $env:DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT } else { '0' }
$windowText = if ($env:ROLE_PROPAGATION_SECONDS) { $env:ROLE_PROPAGATION_SECONDS } else { '300' }
if ($assignedText -notmatch '^[0-9]+$') {
  Write-Warning "postprovision: DEPLOYMENT_STORAGE_ROLE_ASSIGNED_AT is not a number (`"$assignedText`"); not waiting"
  exit 0
}
if ($windowText -notmatch '^[0-9]+$') {
  Write-Error "postprovision: ROLE_PROPAGATION_SECONDS must be a whole number of seconds, got `"$windowText`""
  exit 2
}
$assigned = [long]$assignedText
$window = [long]$windowText
$now = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds()
$remaining = $assigned + $window - $now
if ($assigned -eq 0 -or $remaining -le 0) { exit 0 }
if ($remaining -gt $window) { $remaining = $window }
Write-Output "postprovision: the detector identity's storage roles were assigned $($now - $assigned) s ago; waiting $remaining s for them to apply before the first deployment (Azure/azure-dev#8026)"
Start-Sleep -Seconds $remaining
