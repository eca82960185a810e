#!/usr/bin/env bash
# setup-entra-app.sh: register (or reuse) a Microsoft Entra ID application
# that m365send can use to send mail app-only (client credentials) through
# Office 365 SMTP, using the Azure CLI (az).
#
# It does, in order, stopping at the first failure:
#   1. check that az is set to the profile's cloud and read the tenant ID
#      of the signed-in account;
#   2. find the app registration by display name, or create it;
#   3. find the app's service principal (the "Enterprise application"), or
#      create it, and read its object ID;
#   4. look up the SMTP.SendAsApp app role of Office 365 Exchange Online
#      (resource app ID 00000002-0000-0ff1-ce00-000000000000) at run time,
#      add it to the app as an application permission, and grant admin
#      consent (skipped with --rbac: RBAC for Applications replaces it);
#      With --graph, also Microsoft Graph's Mail.Send application
#      permission (resource app ID 00000003-0000-0000-c000-000000000000),
#      for transport = "graph" or "auto" (docs/graph.md);
#   5. create a credential: a self-signed certificate made with openssl
#      (private key + certificate in one PEM file, mode 0600, next to the
#      config), or, only with --secret, a client secret written to a 0600
#      file. A key file kept from an earlier run is reused; its certificate
#      is uploaded again when the app registration was just created or
#      does not hold it (by thumbprint);
#   6. print the m365send profile (TOML) and the Exchange Online PowerShell
#      lines for the remaining step, with the ENTERPRISE APPLICATION's
#      (service principal's) object ID filled in. Using the app
#      registration's object ID there instead is the most common cause of
#      "535 5.7.3 Authentication unsuccessful".
#
# Run with --help for the options. --dry-run prints every command instead
# of running it.
set -euo pipefail

prog=$(basename "$0")
# fd 3 is the original stdout: --dry-run writes the commands there, in order
# with the rest of the output, while az's own output is being captured.
exec 3>&1

# Office 365 Exchange Online: the resource that owns SMTP.SendAsApp.
readonly EXO_APP_ID="00000002-0000-0ff1-ce00-000000000000"
readonly EXO_ROLE="SMTP.SendAsApp"
# Microsoft Graph: the resource that owns Mail.Send (--graph).
readonly GRAPH_APP_ID="00000003-0000-0000-c000-000000000000"
readonly GRAPH_ROLE="Mail.Send"

usage() {
	cat <<EOF
Usage: $prog --mailbox ADDRESS [options]

Register (or reuse) an Entra ID app for m365send's app-only flow with the
Azure CLI, grant it Office 365 Exchange Online's SMTP.SendAsApp permission
with admin consent, give it a certificate credential, and print the
m365send profile and the Exchange Online PowerShell lines that finish the
setup. Sign in first with 'az login' as an admin who may consent
(Privileged Role Administrator or Global Administrator); for another cloud
run 'az cloud set' first and pass --cloud.

Options:
  --mailbox ADDRESS    mailbox the app sends as (repeatable; the first one
                       goes into the profile). Required.
  --name NAME          app registration display name (default: m365send)
  --profile NAME       m365send profile name to print (default: app)
  --config-dir DIR     where the key or secret file goes (default:
                       \${XDG_CONFIG_HOME:-\$HOME/.config}/m365send)
  --cloud CLOUD        global | usgov | usgovdod | china (default: global)
  --cert-days N        certificate validity in days (default: 365)
  --secret             use a client secret instead of a certificate (written
                       to a 0600 file, never printed). Certificates are
                       preferred.
  --rbac               do not add SMTP.SendAsApp (nor, with --graph,
                       Mail.Send) in Entra ID; use Exchange's RBAC for
                       Applications instead (setup-exchange.ps1 -UseRbac).
                       Do not combine the two.
  --graph              also grant Microsoft Graph's Mail.Send application
                       permission (with --rbac: print the RBAC role
                       'Application Mail.Send' instead), so the profile can
                       send through Graph; the printed profile then has
                       transport = "auto"
  --dry-run            print every command instead of running it
  -h, --help           show this help

Exit status: 0 on success, 1 when a step fails (the failing command and
its error are printed), 64 on a usage error.
EOF
}

die_usage() {
	echo "$prog: $*" >&2
	echo "Run '$prog --help' for usage." >&2
	exit 64
}

# say writes progress to stderr, so stdout carries only what to keep.
say() { echo "$prog: $*" >&2; }

name="m365send"
profile="app"
config_dir="${XDG_CONFIG_HOME:-${HOME:-}/.config}/m365send"
cloud="global"
cert_days=365
use_secret=0
use_rbac=0
use_graph=0
dry_run=0
mailboxes=()

while [ "$#" -gt 0 ]; do
	case "$1" in
	-h | --help)
		usage
		exit 0
		;;
	--mailbox | --name | --profile | --config-dir | --cloud | --cert-days)
		[ "$#" -ge 2 ] || die_usage "$1 needs a value"
		case "$1" in
		--mailbox) mailboxes+=("$2") ;;
		--name) name=$2 ;;
		--profile) profile=$2 ;;
		--config-dir) config_dir=$2 ;;
		--cloud) cloud=$2 ;;
		--cert-days) cert_days=$2 ;;
		esac
		shift 2
		;;
	--mailbox=* | --name=* | --profile=* | --config-dir=* | --cloud=* | --cert-days=*)
		set -- "${1%%=*}" "${1#*=}" "${@:2}"
		;;
	--secret)
		use_secret=1
		shift
		;;
	--rbac)
		use_rbac=1
		shift
		;;
	--graph)
		use_graph=1
		shift
		;;
	--dry-run)
		dry_run=1
		shift
		;;
	*)
		die_usage "unknown argument: $1"
		;;
	esac
done

[ "${#mailboxes[@]}" -gt 0 ] || die_usage "--mailbox is required"
for m in "${mailboxes[@]}"; do
	[[ $m =~ ^[^@[:space:]\"\']+@[^@[:space:]\"\']+\.[^@[:space:]\"\']+$ ]] || die_usage "not a mailbox address: $m"
done
[ -n "$name" ] || die_usage "--name must not be empty"
[[ $profile =~ ^[A-Za-z0-9_-]+$ ]] || die_usage "--profile may hold only letters, digits, '-' and '_': $profile"
case "$cloud" in
global | usgov | usgovdod | china) ;;
*) die_usage "unknown cloud: $cloud (want global, usgov, usgovdod or china)" ;;
esac
[[ $cert_days =~ ^[1-9][0-9]*$ ]] || die_usage "--cert-days wants a positive number: $cert_days"
[ -n "$config_dir" ] || die_usage "--config-dir must not be empty"

# quote renders a command line for display, quoting words for a POSIX
# shell so that it can be pasted back.
quote() {
	local out="" w q="'"
	for w in "$@"; do
		if [[ -n $w && $w =~ ^[A-Za-z0-9_./@:=,+%-]+$ ]]; then
			out+="${out:+ }$w"
		else
			out+="${out:+ }'${w//$q/$q\\$q$q}'"
		fi
	done
	printf '%s' "$out"
}

# hint explains the usual cause of a failing az command, by its subcommand.
hint() {
	case "$*" in
	*"account show"*) echo "sign in first: az login (for another cloud: az cloud set --name ... first)" ;;
	*"permission admin-consent"*) echo "admin consent needs a Privileged Role Administrator or Global Administrator; a new app can also take a minute to replicate: run the script again, or grant consent in the portal (App registrations > API permissions > Grant admin consent)" ;;
	*"ad app create"* | *"credential reset"* | *"permission add"*) echo "your account may not create or change app registrations (needs Application Administrator or Cloud Application Administrator)" ;;
	*"ad sp create"*) echo "a new app can take a minute to replicate: run the script again" ;;
	*"ad sp show --id $EXO_APP_ID"*) echo "Office 365 Exchange Online has no service principal in this tenant: the tenant needs an Exchange Online licence" ;;
	*) echo "see the error above" ;;
	esac
}

# az_out runs one az command and prints its stdout. On failure it names the
# command, shows az's own error and a hint, and stops the script. With
# --dry-run it prints the command and, as its output, the placeholder
# given as the first argument.
az_out() {
	local placeholder=$1
	shift
	if [ "$dry_run" -eq 1 ]; then
		echo "+ $(quote az "$@")" >&3
		printf '%s\n' "$placeholder"
		return 0
	fi
	local errf out rc=0
	errf=$(mktemp)
	out=$(az "$@" 2>"$errf") || rc=$?
	if [ "$rc" -ne 0 ]; then
		{
			echo "$prog: FAILED (exit $rc): $(quote az "$@")"
			sed 's/^/    /' "$errf"
			echo "$prog: hint: $(hint "$@")"
		} >&2
		rm -f "$errf"
		exit 1
	fi
	rm -f "$errf"
	printf '%s\n' "$out"
}

# az_do runs one az command whose output is not needed.
az_do() { az_out "" "$@" >/dev/null; }

# one_line insists on exactly one non-empty line, for IDs read back from az.
one_line() {
	local what=$1 value=$2
	value=$(printf '%s' "$value" | tr -d '\r')
	if [ -z "$value" ]; then
		say "FAILED: az returned no $what"
		exit 1
	fi
	if [ "$(printf '%s\n' "$value" | wc -l)" -ne 1 ]; then
		say "FAILED: expected one $what, az returned several:"
		printf '%s\n' "$value" | sed 's/^/    /' >&2
		exit 1
	fi
	printf '%s' "$value"
}

# request_role API_APP_ID API_NAME ROLE PLACEHOLDER LABEL makes the app
# request the application permission ROLE of the API (its app role, looked
# up in this tenant; PLACEHOLDER stands for its ID in --dry-run), unless
# it already does. LABEL names the permission in what the script says.
request_role() {
	local api=$1 name=$2 role=$3 placeholder=$4 label=$5 id have
	say "looking up the $role app role of $name"
	id=$(az_out "$placeholder" ad sp show --id "$api" --query "appRoles[?value=='$role'].id" -o tsv)
	if [ -z "$id" ]; then
		say "FAILED: $name has no $role app role in this tenant"
		exit 1
	fi
	id=$(one_line "$role role ID" "$id")
	have=$(az_out "" ad app permission list --id "$app_id" --query "[?resourceAppId=='$api'].resourceAccess[].id" -o tsv)
	if printf '%s\n' "$have" | grep -qixF -- "$id"; then
		say "$label is already requested"
	else
		say "adding $label (application permission)"
		az_do ad app permission add --id "$app_id" --api "$api" --api-permissions "$id=Role"
	fi
}

# toml_str renders a TOML basic string.
toml_str() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# cert_thumbprint prints the SHA-1 thumbprint of the certificate in a PEM
# file as upper-case hex, the form az shows as customKeyIdentifier.
cert_thumbprint() {
	local fp
	if ! fp=$(openssl x509 -in "$1" -noout -fingerprint -sha1 2>/dev/null); then
		say "FAILED: $1 holds no certificate (delete it to make a new one)"
		return 1
	fi
	fp=${fp#*=}
	printf '%s' "${fp//:/}" | tr 'a-f' 'A-F'
}

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	say "FAILED: $1 not found on PATH ($2)"
	exit 1
}

if [ "$dry_run" -eq 0 ]; then
	need az "install the Azure CLI: https://learn.microsoft.com/cli/azure/install-azure-cli"
	[ "$use_secret" -eq 1 ] || need openssl "install openssl, or pass --secret"
fi

# 0. The Azure CLI must be signed in to the profile's cloud.
case "$cloud" in
global) az_cloud=AzureCloud ;;
usgov | usgovdod) az_cloud=AzureUSGovernment ;;
china) az_cloud=AzureChinaCloud ;;
esac
current_cloud=$(az_out "$az_cloud" cloud show --query name -o tsv)
if [ "$current_cloud" != "$az_cloud" ]; then
	say "FAILED: the Azure CLI is set to cloud $current_cloud, but --cloud $cloud needs $az_cloud"
	say "hint: az cloud set --name $az_cloud && az login"
	exit 1
fi

# 1. Tenant.
say "reading the tenant of the signed-in account"
tenant=$(one_line "tenant ID" "$(az_out "<tenantId>" account show --query tenantId -o tsv)")

# 2. App registration, found by display name or created.
say "looking for app registration \"$name\""
# An exact match: --display-name would match by prefix.
odata_name=${name//\'/\'\'}
app_id=$(az_out "" ad app list --filter "displayName eq '$odata_name'" --query "[].appId" -o tsv)
app_created=0
if [ -n "$app_id" ]; then
	app_id=$(one_line "app registration named \"$name\" (rename one, or pass another --name)" "$app_id")
	say "reusing app registration $app_id"
else
	say "creating app registration \"$name\""
	app_id=$(one_line "application (client) ID" "$(az_out "<appId>" ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv)")
	app_created=1
fi

# 3. Service principal (Enterprise application): its object ID is the one
# Exchange Online needs.
sp_found=$(az_out "" ad sp list --filter "appId eq '$app_id'" --query "[].id" -o tsv)
if [ -z "$sp_found" ]; then
	say "creating the service principal (enterprise application)"
	az_do ad sp create --id "$app_id"
fi
sp_object_id=$(one_line "service principal object ID" "$(az_out "<servicePrincipalObjectId>" ad sp show --id "$app_id" --query id -o tsv)")

# 4. SMTP.SendAsApp with admin consent (not with RBAC for Applications).
if [ "$use_rbac" -eq 0 ]; then
	request_role "$EXO_APP_ID" "Office 365 Exchange Online" "$EXO_ROLE" "<smtpSendAsAppRoleId>" "$EXO_ROLE"
	if [ "$use_graph" -eq 1 ]; then
		request_role "$GRAPH_APP_ID" "Microsoft Graph" "$GRAPH_ROLE" "<graphMailSendRoleId>" "Microsoft Graph $GRAPH_ROLE"
	fi
	say "granting admin consent"
	az_do ad app permission admin-consent --id "$app_id"
fi

# 5. Credential.
if [ "$dry_run" -eq 1 ]; then
	echo "+ $(quote mkdir -p -m 0700 "$config_dir")" >&3
else
	mkdir -p "$config_dir"
	chmod 0700 "$config_dir"
fi
safe_name=$(printf '%s' "$name" | tr -c 'A-Za-z0-9_.-' '-')
credential_line=""
if [ "$use_secret" -eq 1 ]; then
	secret_file="$config_dir/$safe_name.secret"
	say "creating a client secret (written to $secret_file, mode 0600)"
	secret=$(az_out "<secret>" ad app credential reset --id "$app_id" --append --display-name m365send --years 1 --query password -o tsv)
	if [ "$dry_run" -eq 0 ]; then
		(
			umask 077
			printf '%s' "$secret" >"$secret_file"
		)
		chmod 0600 "$secret_file"
	fi
	unset secret
	credential_line="client_secret_file = $(toml_str "$secret_file")"
else
	pem_file="$config_dir/$safe_name.pem" # private key + certificate, 0600
	crt_file="$config_dir/$safe_name.crt" # certificate only, uploaded
	credential_line="certificate_file = $(toml_str "$pem_file")"
	upload=1
	if [ -e "$pem_file" ]; then
		# A kept key is only good if the app registration holds its
		# certificate: the app may be new (the old one deleted), or the
		# credential removed or expired. Otherwise every token request
		# fails with AADSTS700027.
		if [ "$dry_run" -eq 1 ]; then
			echo "+ $(quote openssl x509 -in "$pem_file" -noout -fingerprint -sha1)" >&3
			thumbprint="<thumbprint>"
		else
			thumbprint=$(cert_thumbprint "$pem_file") || exit 1
		fi
		if [ "$app_created" -eq 1 ]; then
			say "$pem_file exists: reusing it, and uploading its certificate to the new app registration"
		else
			# az shows customKeyIdentifier, the SHA-1 thumbprint, in hex.
			have=$(az_out "" ad app credential list --id "$app_id" --cert --query "[].customKeyIdentifier" -o tsv)
			if printf '%s\n' "$have" | tr -d '\r' | grep -qixF -- "$thumbprint"; then
				say "$pem_file exists and the app holds its certificate ($thumbprint): reusing it (delete it to make a new certificate)"
				upload=0
			else
				say "$pem_file exists but the app does not hold its certificate ($thumbprint): uploading it"
			fi
		fi
		if [ "$upload" -eq 1 ]; then
			# The public part, again from the PEM: the .crt may be gone.
			pub=(openssl x509 -in "$pem_file" -out "$crt_file")
			if [ "$dry_run" -eq 1 ]; then
				echo "+ $(quote "${pub[@]}")" >&3
			elif ! "${pub[@]}" 2>/dev/null; then
				say "FAILED: $(quote "${pub[@]}")"
				exit 1
			fi
		fi
	else
		say "making a self-signed certificate ($cert_days days) in $pem_file"
		key_tmp="$config_dir/.$safe_name.key.tmp"
		gen=(openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$cert_days"
			-subj "/CN=$safe_name m365send" -keyout "$key_tmp" -out "$crt_file")
		if [ "$dry_run" -eq 1 ]; then
			echo "+ (umask 077; $(quote "${gen[@]}"))" >&3
			echo "+ $(quote cat "$key_tmp" "$crt_file") > $(quote "$pem_file")  # mode 0600" >&3
		else
			errf=$(mktemp)
			if ! (umask 077 && "${gen[@]}") >/dev/null 2>"$errf"; then
				echo "$prog: FAILED: $(quote "${gen[@]}")" >&2
				sed 's/^/    /' "$errf" >&2
				rm -f "$errf" "$key_tmp"
				exit 1
			fi
			rm -f "$errf"
			(
				umask 077
				cat "$key_tmp" "$crt_file" >"$pem_file"
			)
			chmod 0600 "$pem_file"
			rm -f "$key_tmp"
		fi
	fi
	if [ "$upload" -eq 1 ]; then
		say "uploading the certificate (public part only)"
		az_do ad app credential reset --id "$app_id" --cert "@$crt_file" --append
	fi
fi

# 6. What to keep: the profile and the Exchange step.
mailbox_list=""
for m in "${mailboxes[@]}"; do
	mailbox_list+="${mailbox_list:+,}'$m'"
done
rbac_switch=""
[ "$use_rbac" -eq 0 ] || rbac_switch=" -UseRbac"
[ "$use_graph" -eq 0 ] || rbac_switch+=" -Graph"
transport_line=""
[ "$use_graph" -eq 0 ] || transport_line='transport = "auto"'

cat <<EOF
# ---- m365send profile: add to your config file (${XDG_CONFIG_HOME:-~/.config}/m365send/config.toml, mode 0600) ----
[profiles.$profile]
flow = "client_credentials"
tenant = $(toml_str "$tenant")
client_id = $(toml_str "$app_id")
$credential_line
mailbox = $(toml_str "${mailboxes[0]}")
cloud = $(toml_str "$cloud")
$transport_line
# ---- end of profile ----

# ---- Exchange Online PowerShell: run as an Exchange administrator ----
# The object ID below is the ENTERPRISE APPLICATION's (service principal's),
# not the app registration's: the wrong one makes every AUTH fail with 535 5.7.3.
# Either run the script:
#   ./scripts/setup-exchange.ps1 -AppId $app_id -ObjectId $sp_object_id -Mailbox $mailbox_list$rbac_switch
# or these lines:
Connect-ExchangeOnline
New-ServicePrincipal -AppId $app_id -ObjectId $sp_object_id -DisplayName '${name//\'/\'\'}'
EOF
if [ "$use_rbac" -eq 0 ]; then
	for m in "${mailboxes[@]}"; do
		echo "Add-MailboxPermission -Identity '$m' -User $sp_object_id -AccessRights FullAccess"
	done
else
	echo "New-ManagementScope -Name 'm365send $app_id' -RecipientRestrictionFilter \"$(
		sep=""
		for m in "${mailboxes[@]}"; do
			printf '%sPrimarySmtpAddress -eq '\''%s'\''' "$sep" "$m"
			sep=" -or "
		done
	)\""
	echo "New-ManagementRoleAssignment -Name 'm365send SMTP $app_id' -Role 'Application SMTP.SendAsApp' -App $app_id -CustomResourceScope 'm365send $app_id'"
	if [ "$use_graph" -eq 1 ]; then
		echo "New-ManagementRoleAssignment -Name 'm365send Graph $app_id' -Role 'Application Mail.Send' -App $app_id -CustomResourceScope 'm365send $app_id'"
	fi
fi
for m in "${mailboxes[@]}"; do
	echo "Set-CASMailbox -Identity '$m' -SmtpClientAuthenticationDisabled \$false"
done
echo "# ---- end of PowerShell ----"
say "done; changes in Entra ID and Exchange Online can take up to an hour to apply"
