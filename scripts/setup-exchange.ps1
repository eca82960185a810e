<#
.SYNOPSIS
Exchange Online step of m365send's app-only setup: register the app's
service principal in Exchange Online and let it send as the given mailboxes
over SMTP (OAuth, SMTP.SendAsApp).

.DESCRIPTION
Run in Exchange Online PowerShell (Connect-ExchangeOnline) as an Exchange
administrator, after scripts/setup-entra-app.sh (or the portal steps in the
README) registered the app in Entra ID. For every step it first reads the
current state and only changes what is missing, so running it twice
changes nothing the second time. -WhatIf shows what it would change.

  1. New-ServicePrincipal -AppId <appId> -ObjectId <objectId>
     The object ID is the ENTERPRISE APPLICATION's (service principal's),
     not the app registration's. With the wrong one every AUTH fails with
     "535 5.7.3 Authentication unsuccessful". An existing Exchange service
     principal made with another object ID is reported, with the command
     that removes it (Set-ServicePrincipal cannot change the ID).
  2. Default: Add-MailboxPermission -AccessRights FullAccess for each
     mailbox (with the SMTP.SendAsApp application permission granted in
     Entra ID). With -UseRbac: RBAC for Applications instead, a management
     scope over the mailboxes and New-ManagementRoleAssignment -Role
     'Application SMTP.SendAsApp' (then do NOT also grant SMTP.SendAsApp in
     Entra ID).
     With -Graph as well: a second role assignment, 'Application
     Mail.Send', over the same scope, so the app may send through
     Microsoft Graph (transport = "graph" or "auto") as those mailboxes
     only (then do NOT grant Graph's Mail.Send in Entra ID either).
  3. With -SendAs: Add-RecipientPermission -AccessRights SendAs for each
     mailbox, to send as that address.
  4. Set-CASMailbox -SmtpClientAuthenticationDisabled $false for each
     mailbox (SMTP AUTH is off by default in tenants made since 2020, and
     off also blocks OAuth SMTP).

THIS SCRIPT CANNOT RUN IN THE PROJECT'S TEST ENVIRONMENT (no Exchange
Online there). It was reviewed line by line against Microsoft's documented
parameters of New-ServicePrincipal, Get-ServicePrincipal,
Add-/Get-MailboxPermission, Add-/Get-RecipientPermission, Get-/Set-CASMailbox,
New-/Get-ManagementScope and New-/Get-ManagementRoleAssignment (Exchange
Online PowerShell reference on learn.microsoft.com) and against "Authenticate
an IMAP, POP or SMTP connection using OAuth" and "SMTP RBAC for
applications" (see docs/microsoft.md). -ServiceId is deprecated and not
used.

.PARAMETER AppId
The application (client) ID of the app registration.

.PARAMETER ObjectId
The object ID of the app's ENTERPRISE APPLICATION (service principal):
  az ad sp show --id <appId> --query id -o tsv
or Entra admin center > Enterprise applications > the app > Object ID.
Not the object ID shown under App registrations.

.PARAMETER Mailbox
The mailboxes the app sends as (one or more addresses).

.PARAMETER DisplayName
Display name of the Exchange service principal (default: m365send <AppId>).

.PARAMETER SendAs
Also grant SendAs on each mailbox (Add-RecipientPermission).

.PARAMETER UseRbac
Use RBAC for Applications (management scope + role assignment 'Application
SMTP.SendAsApp') instead of FullAccess mailbox permissions.

.PARAMETER Graph
With -UseRbac, also assign the role 'Application Mail.Send' over the same
management scope, for sending through Microsoft Graph (docs/graph.md).

.PARAMETER Help
Show this help.

.EXAMPLE
./setup-exchange.ps1 -AppId 11111111-1111-1111-1111-111111111111 -ObjectId 22222222-2222-2222-2222-222222222222 -Mailbox alerts@contoso.com

.EXAMPLE
./setup-exchange.ps1 -AppId 11111111-1111-1111-1111-111111111111 -ObjectId 22222222-2222-2222-2222-222222222222 -Mailbox alerts@contoso.com,reports@contoso.com -UseRbac -WhatIf
#>
[CmdletBinding(DefaultParameterSetName = 'Setup', SupportsShouldProcess = $true)]
param(
    [Parameter(ParameterSetName = 'Setup', Mandatory = $true)]
    [string] $AppId,

    [Parameter(ParameterSetName = 'Setup', Mandatory = $true)]
    [string] $ObjectId,

    [Parameter(ParameterSetName = 'Setup', Mandatory = $true)]
    [string[]] $Mailbox,

    [Parameter(ParameterSetName = 'Setup')]
    [string] $DisplayName,

    [Parameter(ParameterSetName = 'Setup')]
    [switch] $SendAs,

    [Parameter(ParameterSetName = 'Setup')]
    [switch] $UseRbac,

    [Parameter(ParameterSetName = 'Setup')]
    [switch] $Graph,

    [Parameter(ParameterSetName = 'Help', Mandatory = $true)]
    [switch] $Help
)

# Version 1.0 only catches unset variables: later versions also throw on a
# property an object lacks, and the shape of Exchange Online's deserialized
# objects cannot be checked here.
Set-StrictMode -Version 1.0
$ErrorActionPreference = 'Stop'

if ($Help) {
    Get-Help -Name $PSCommandPath -Detailed
    return
}

function Assert-Guid([string] $Name, [string] $Value) {
    $parsed = [guid]::Empty
    if (-not [guid]::TryParse($Value, [ref] $parsed)) {
        throw "-$Name must be a GUID, got '$Value'"
    }
}

Assert-Guid 'AppId' $AppId
Assert-Guid 'ObjectId' $ObjectId
if ($AppId -eq $ObjectId) {
    throw "-ObjectId equals -AppId: pass the enterprise application's (service principal's) object ID: az ad sp show --id $AppId --query id -o tsv"
}
foreach ($m in $Mailbox) {
    if ($m -notmatch '^[^@\s]+@[^@\s]+\.[^@\s]+$') { throw "not a mailbox address: '$m'" }
}
if (-not $DisplayName) { $DisplayName = "m365send $AppId" }

# Find returns what a Get-* cmdlet finds, or nothing at all (so that @()
# around it counts 0) when it finds nothing: some Exchange Online cmdlets
# report "not found" as an error.
function Find([scriptblock] $Get) {
    try { & $Get } catch { return }
}

if (-not (Get-Command -Name New-ServicePrincipal -ErrorAction SilentlyContinue)) {
    throw 'Exchange Online cmdlets not found: Install-Module ExchangeOnlineManagement; Connect-ExchangeOnline; then run this script again'
}

# 1. The Exchange service principal, made with the enterprise application's
#    object ID.
$sp = Find { Get-ServicePrincipal -Identity $AppId -ErrorAction Stop }
if ($null -eq $sp) {
    if ($PSCmdlet.ShouldProcess($AppId, "New-ServicePrincipal -ObjectId $ObjectId")) {
        $sp = New-ServicePrincipal -AppId $AppId -ObjectId $ObjectId -DisplayName $DisplayName
        Write-Host "created the Exchange service principal for $AppId"
    }
} elseif ("$($sp.ObjectId)" -and "$($sp.ObjectId)" -ne $ObjectId) {
    throw ("the Exchange service principal for $AppId was made with object ID $($sp.ObjectId), not $ObjectId " +
        "(often the app registration's ID: every AUTH then fails with 535 5.7.3). " +
        "Remove it with: Remove-ServicePrincipal -Identity $AppId ; then run this script again")
} else {
    Write-Host "Exchange service principal for $AppId exists"
}

# 2. Permission to use the mailboxes: FullAccess per mailbox, or RBAC for
#    Applications.
if ($UseRbac) {
    $scopeName = "m365send $AppId"
    $assignmentName = "m365send SMTP $AppId"
    $filter = ($Mailbox | ForEach-Object { "PrimarySmtpAddress -eq '$_'" }) -join ' -or '
    $scope = Find { Get-ManagementScope -Identity $scopeName -ErrorAction Stop }
    if ($null -eq $scope) {
        if ($PSCmdlet.ShouldProcess($scopeName, "New-ManagementScope -RecipientRestrictionFilter `"$filter`"")) {
            New-ManagementScope -Name $scopeName -RecipientRestrictionFilter $filter | Out-Null
            Write-Host "created management scope '$scopeName'"
        }
    } else {
        # Left as it is: Exchange rewrites filter text, so comparing it would
        # change the scope on every run. To change the mailboxes, edit it with
        # Set-ManagementScope -Identity '<name>' -RecipientRestrictionFilter ...
        Write-Host "management scope '$scopeName' exists (filter: $($scope.RecipientFilter)); left unchanged"
    }
    $assignment = Find { Get-ManagementRoleAssignment -Identity $assignmentName -ErrorAction Stop }
    if ($null -eq $assignment) {
        if ($PSCmdlet.ShouldProcess($AppId, "New-ManagementRoleAssignment -Role 'Application SMTP.SendAsApp'")) {
            New-ManagementRoleAssignment -Name $assignmentName -Role 'Application SMTP.SendAsApp' -App $AppId -CustomResourceScope $scopeName | Out-Null
            Write-Host "assigned 'Application SMTP.SendAsApp' scoped to '$scopeName'"
        }
    } else {
        Write-Host "role assignment '$assignmentName' exists"
    }
    if ($Graph) {
        $graphAssignmentName = "m365send Graph $AppId"
        $graphAssignment = Find { Get-ManagementRoleAssignment -Identity $graphAssignmentName -ErrorAction Stop }
        if ($null -eq $graphAssignment) {
            if ($PSCmdlet.ShouldProcess($AppId, "New-ManagementRoleAssignment -Role 'Application Mail.Send'")) {
                New-ManagementRoleAssignment -Name $graphAssignmentName -Role 'Application Mail.Send' -App $AppId -CustomResourceScope $scopeName | Out-Null
                Write-Host "assigned 'Application Mail.Send' scoped to '$scopeName'"
            }
        } else {
            Write-Host "role assignment '$graphAssignmentName' exists"
        }
    }
} else {
    if ($Graph) {
        Write-Warning "-Graph needs -UseRbac: without it, the Graph permission Mail.Send granted in Entra ID lets the app send as every mailbox"
    }
    foreach ($m in $Mailbox) {
        $have = @(Find { Get-MailboxPermission -Identity $m -User $ObjectId -ErrorAction Stop } |
                Where-Object { $null -ne $_ -and -not $_.Deny -and "$($_.AccessRights)" -match 'FullAccess' })
        if ($have.Count -gt 0) {
            Write-Host "${m}: FullAccess already granted"
        } elseif ($PSCmdlet.ShouldProcess($m, "Add-MailboxPermission -User $ObjectId -AccessRights FullAccess")) {
            Add-MailboxPermission -Identity $m -User $ObjectId -AccessRights FullAccess | Out-Null
            Write-Host "${m}: granted FullAccess"
        }
    }
}

# 3. SendAs, when asked for.
if ($SendAs) {
    foreach ($m in $Mailbox) {
        $have = @(Find { Get-RecipientPermission -Identity $m -Trustee $ObjectId -AccessRights SendAs -ErrorAction Stop })
        if ($have.Count -gt 0) {
            Write-Host "${m}: SendAs already granted"
        } elseif ($PSCmdlet.ShouldProcess($m, "Add-RecipientPermission -Trustee $ObjectId -AccessRights SendAs")) {
            Add-RecipientPermission -Identity $m -Trustee $ObjectId -AccessRights SendAs -Confirm:$false | Out-Null
            Write-Host "${m}: granted SendAs"
        }
    }
}

# 4. SMTP AUTH on for each mailbox ($false = enabled).
foreach ($m in $Mailbox) {
    $cas = Get-CASMailbox -Identity $m
    if ($cas.SmtpClientAuthenticationDisabled -eq $false) {
        Write-Host "${m}: SMTP AUTH already enabled"
    } elseif ($PSCmdlet.ShouldProcess($m, 'Set-CASMailbox -SmtpClientAuthenticationDisabled $false')) {
        Set-CASMailbox -Identity $m -SmtpClientAuthenticationDisabled $false
        Write-Host "${m}: SMTP AUTH enabled"
    }
}

Write-Host 'done; changes can take up to an hour to apply. Test with: m365send doctor'
