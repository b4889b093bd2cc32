/*
 * dsm_linux.c - Linux OS: the authentication, account, scheduling, service and kernel
 * messages a Linux host writes to syslog (sshd, PAM, su, sudo, login, shadow-utils, cron,
 * systemd, kernel/netfilter, auditd and the usual system daemons).
 *
 * Recognition is by the syslog TAG (appname) alone: the DSM runs first for every line of
 * every device, so the reject path is one length check and a binary search of a sorted
 * table of program names (plus the prefixes "systemd-", "pam_", "sshd-"). A tag of the form
 * "service(module)" (old PAM: "sshd(pam_unix)") is looked up by its service part and its
 * text read as a PAM message. Two header shapes old sysklogd/login write without a usable
 * tag ("syslogd 1.4.1: restart." and "-- root[2421]: ROOT LOGIN ON tty2") are recognized
 * from the message when the appname is empty.
 *
 * Each program family has its classifier reading the message by the program's documented
 * wording (OpenSSH auth.c/sshd.c log formats, Linux-PAM pam_unix, sudo's "user : TTY=... ;
 * COMMAND=..." form, shadow-utils' useradd/userdel/usermod/groupadd/passwd/gpasswd lines,
 * cron's "(user) CMD (command)", systemd's unit state lines, netfilter's LOG target
 * "PREFIX IN= OUT= MAC= SRC= DST= ... PROTO= SPT= DPT=", auditd's "type=T msg=audit(...)").
 * Every line of a recognized program gets a QID: a specific one when the wording is known,
 * else the program family's "Linux <family> Message" QID, so the same message template
 * always lands on the same QID whatever its variable parts (users, addresses, ports).
 * rsyslog's "message repeated N times: [ text ]" is unwrapped: text is classified and N
 * becomes the event count.
 *
 * Invariants: every read is bounded by ev->message; strings set on the event point into the
 * message; custom properties are built in a stack buffer and committed once into the arena;
 * nothing else is allocated; a false return leaves ev untouched.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_LINUX

enum {
    /* sshd */
    Q_SSH_LOGIN_OK = 1,
    Q_SSH_LOGIN_FAIL,
    Q_SSH_LOGIN_FAIL_INVALID,
    Q_SSH_INVALID_USER,
    Q_SSH_BREAKIN,
    Q_SSH_NO_IDENT,
    Q_SSH_BAD_PROTO,
    Q_SSH_DISCONNECT,
    Q_SSH_DISCONNECT_ERR,
    Q_SSH_CONN_CLOSED,
    Q_SSH_TOO_MANY,
    Q_SSH_CONN_OPEN,
    Q_SSH_LISTEN,
    Q_SSH_STOP,
    Q_SSH_NOT_ALLOWED,
    Q_SSH_MSG,
    /* PAM */
    Q_PAM_AUTH_FAIL = 20,
    Q_PAM_AUTH_FAIL_MORE,
    Q_PAM_USER_UNKNOWN,
    Q_PAM_SESSION_OPEN,
    Q_PAM_SESSION_CLOSE,
    Q_PAM_MAX_RETRIES,
    Q_PAM_MSG,
    /* su, sudo, login */
    Q_SU_OK = 30,
    Q_SU_FAIL,
    Q_SUDO_OK,
    Q_SUDO_FAIL,
    Q_SUDO_NOT_SUDOERS,
    Q_SUDO_NOT_ALLOWED,
    Q_SU_MSG,
    Q_SUDO_MSG,
    Q_LOGIN_OK = 40,
    Q_LOGIN_FAIL,
    Q_KRB_LOGIN_FAIL,
    Q_LOGIN_MSG,
    /* ftp */
    Q_FTP_CONNECT = 50,
    Q_FTP_LOGIN_OK,
    Q_FTP_LOGIN_FAIL,
    Q_FTP_TIMEOUT,
    Q_FTP_TRANSFER,
    Q_FTP_MSG,
    /* accounts */
    Q_USER_ADDED = 60,
    Q_GROUP_ADDED,
    Q_USER_REMOVED,
    Q_GROUP_REMOVED,
    Q_PASSWORD_CHANGED,
    Q_GROUP_MEMBER_ADDED,
    Q_USER_CHANGED,
    Q_GROUP_MEMBER_REMOVED,
    Q_GROUP_CHANGED,
    Q_PASSWORD_CHANGE_FAIL,
    Q_ACCOUNT_MSG,
    /* cron */
    Q_CRON_CMD = 75,
    Q_CRONTAB_CHANGED,
    Q_CRON_MSG,
    /* services */
    Q_SVC_STARTED = 80,
    Q_SVC_STOPPED,
    Q_SVC_FAILED,
    Q_SVC_RELOADED,
    Q_SESSION_NEW,
    Q_SESSION_REMOVED,
    Q_SYSTEMD_MSG,
    /* kernel */
    Q_FW_DENY = 90,
    Q_FW_PERMIT,
    Q_FW_LOG,
    Q_KERNEL_INFO,
    Q_KERNEL_WARN,
    Q_KERNEL_ERR,
    Q_KERNEL_OOM,
    Q_KERNEL_SEGFAULT,
    Q_KERNEL_BOOT,
    /* audit */
    Q_AUD_LOGIN_OK = 100,
    Q_AUD_LOGIN_FAIL,
    Q_AUD_AUTH_OK,
    Q_AUD_AUTH_FAIL,
    Q_AUD_USER_ADD,
    Q_AUD_USER_DEL,
    Q_AUD_GROUP_ADD,
    Q_AUD_GROUP_DEL,
    Q_AUD_CHAUTHTOK,
    Q_AUD_EXECVE,
    Q_AUD_SYSCALL,
    Q_AUD_AVC,
    Q_AUD_USER_START,
    Q_AUD_USER_END,
    Q_AUD_CONFIG,
    Q_AUD_DAEMON,
    Q_AUD_SVC_START,
    Q_AUD_SVC_STOP,
    Q_AUD_USER_CMD,
    Q_AUD_MSG,
    Q_AUD_ANOM,
    Q_AUD_USER_MGMT,
    /* generic per family */
    Q_POLKIT_MSG = 200,
    Q_DBUS_MSG,
    Q_NET_MSG,
    Q_TIME_MSG,
    Q_SYSLOG_MSG,
    Q_LOGROTATE_MSG,
    Q_CUPS_MSG,
    Q_XINETD_MSG,
    Q_DM_MSG,
    Q_KRB_MSG,
    Q_UDEV_MSG,
    Q_DAEMON_MSG,
    Q_DHCP_LEASE,
    Q_XINETD_START,
    Q_POLKIT_AUTH_FAIL,
};

#define Q(n) DSM_QID(T, n)

static const struct qid_def linux_qids[] = {
    {Q(Q_SSH_LOGIN_OK), "SSH Login Succeeded",
     "sshd accepted a login (password, public key, keyboard-interactive, GSSAPI)",
     LLC_SSH_LOGIN_SUCCEEDED, 3},
    {Q(Q_SSH_LOGIN_FAIL), "SSH Login Failed", "sshd rejected the credentials of an existing user",
     LLC_SSH_LOGIN_FAILED, 5},
    {Q(Q_SSH_LOGIN_FAIL_INVALID), "SSH Login Failed - Invalid User",
     "sshd rejected a login attempt for a user that does not exist", LLC_SSH_LOGIN_FAILED, 6},
    {Q(Q_SSH_INVALID_USER), "SSH Invalid User",
     "A client asked sshd to log in as a user that does not exist", LLC_SUSPICIOUS_USERNAME, 5},
    {Q(Q_SSH_BREAKIN), "SSH Possible Break-in Attempt",
     "The client's address and its reverse DNS name do not match", LLC_SUSPICIOUS_ACTIVITY, 5},
    {Q(Q_SSH_NO_IDENT), "SSH No Identification String",
     "A client connected and sent no SSH identification (scan or probe)", LLC_MISC_RECON, 4},
    {Q(Q_SSH_BAD_PROTO), "SSH Protocol Negotiation Failed",
     "A client sent a bad protocol version or no acceptable algorithms", LLC_MISC_RECON, 4},
    {Q(Q_SSH_DISCONNECT), "SSH Disconnect Received", "The client closed the SSH connection",
     LLC_SESSION_CLOSED, 1},
    {Q(Q_SSH_DISCONNECT_ERR), "SSH Disconnect Received With Error",
     "The client closed the SSH connection reporting an error", LLC_SESSION_CLOSED, 3},
    {Q(Q_SSH_CONN_CLOSED), "SSH Connection Closed", "The SSH connection was closed or reset",
     LLC_SESSION_CLOSED, 1},
    {Q(Q_SSH_TOO_MANY), "SSH Too Many Authentication Failures",
     "sshd disconnected a client after too many failed authentication attempts",
     LLC_SUSPICIOUS_ACTIVITY, 6},
    {Q(Q_SSH_CONN_OPEN), "SSH Connection Opened", "A client connected to sshd", LLC_SESSION_OPENED,
     1},
    {Q(Q_SSH_LISTEN), "SSH Server Started", "sshd started listening", LLC_SERVICE_STARTED, 2},
    {Q(Q_SSH_STOP), "SSH Server Stopped", "sshd terminated", LLC_SERVICE_STOPPED, 3},
    {Q(Q_SSH_NOT_ALLOWED), "SSH Login Denied By Policy",
     "sshd refused a user by AllowUsers/DenyUsers/PermitRootLogin", LLC_SSH_LOGIN_FAILED, 5},
    {Q(Q_SSH_MSG), "Linux SSH Message", "An sshd message this DSM does not map specifically",
     LLC_MISC_SYSTEM, 2},
    {Q(Q_PAM_AUTH_FAIL), "PAM Authentication Failure",
     "A PAM module rejected the credentials of a user", LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_PAM_AUTH_FAIL_MORE), "PAM Repeated Authentication Failures",
     "PAM reports further authentication failures in the same session", LLC_HOST_LOGIN_FAILED, 6},
    {Q(Q_PAM_USER_UNKNOWN), "PAM Unknown User",
     "PAM was asked to check the password of a user that does not exist", LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_PAM_SESSION_OPEN), "PAM Session Opened", "A PAM session was opened for a user",
     LLC_AUTH_SESSION_OPENED, 1},
    {Q(Q_PAM_SESSION_CLOSE), "PAM Session Closed", "A PAM session was closed for a user",
     LLC_AUTH_SESSION_CLOSED, 1},
    {Q(Q_PAM_MAX_RETRIES), "PAM Maximum Retries Exceeded", "A service exceeded the PAM retry limit",
     LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_PAM_MSG), "Linux PAM Message", "A PAM message this DSM does not map specifically",
     LLC_AUTH_UNKNOWN, 2},
    {Q(Q_SU_OK), "su Succeeded", "A user switched identity with su", LLC_PRIV_ESCALATION_SUCCEEDED,
     3},
    {Q(Q_SU_FAIL), "su Failed", "A user failed to switch identity with su",
     LLC_PRIV_ESCALATION_FAILED, 5},
    {Q(Q_SUDO_OK), "sudo Command Succeeded",
     "A command ran with sudo (privilege escalation succeeded)", LLC_PRIV_ESCALATION_SUCCEEDED, 3},
    {Q(Q_SUDO_FAIL), "sudo Authentication Failed", "sudo refused a user after incorrect passwords",
     LLC_PRIV_ESCALATION_FAILED, 6},
    {Q(Q_SUDO_NOT_SUDOERS), "sudo User Not In Sudoers",
     "A user not listed in sudoers tried to use sudo", LLC_PRIV_ESCALATION_FAILED, 7},
    {Q(Q_SUDO_NOT_ALLOWED), "sudo Command Not Allowed",
     "sudo refused a command the policy does not allow", LLC_PRIV_ESCALATION_FAILED, 6},
    {Q(Q_SU_MSG), "Linux su Message", "An su message this DSM does not map specifically",
     LLC_AUTH_UNKNOWN, 2},
    {Q(Q_SUDO_MSG), "Linux sudo Message", "A sudo message this DSM does not map specifically",
     LLC_AUTH_UNKNOWN, 2},
    {Q(Q_LOGIN_OK), "Login Succeeded", "A user logged in on a terminal", LLC_HOST_LOGIN_SUCCEEDED,
     3},
    {Q(Q_LOGIN_FAIL), "Login Failed", "A terminal or display manager login failed",
     LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_KRB_LOGIN_FAIL), "Kerberos Remote Login Failed",
     "klogind rejected a Kerberos remote login", LLC_REMOTE_ACCESS_LOGIN_FAILED, 5},
    {Q(Q_LOGIN_MSG), "Linux login Message", "A login message this DSM does not map specifically",
     LLC_AUTH_UNKNOWN, 2},
    {Q(Q_FTP_CONNECT), "FTP Connection Opened", "A client connected to the FTP server",
     LLC_SESSION_OPENED, 1},
    {Q(Q_FTP_LOGIN_OK), "FTP Login Succeeded", "A user (or anonymous) logged in to the FTP server",
     LLC_FTP_LOGIN_SUCCEEDED, 3},
    {Q(Q_FTP_LOGIN_FAIL), "FTP Login Failed", "An FTP login failed", LLC_FTP_LOGIN_FAILED, 5},
    {Q(Q_FTP_TIMEOUT), "FTP Session Timed Out", "An FTP session timed out", LLC_SESSION_CLOSED, 1},
    {Q(Q_FTP_TRANSFER), "FTP File Transfer", "A file was uploaded or downloaded over FTP",
     LLC_FTP_ACTION_ALLOWED, 1},
    {Q(Q_FTP_MSG), "Linux FTP Message", "An FTP server message this DSM does not map specifically",
     LLC_MISC_SYSTEM, 2},
    {Q(Q_USER_ADDED), "User Account Added", "A user account was created", LLC_USER_ACCOUNT_ADDED,
     5},
    {Q(Q_GROUP_ADDED), "Group Added", "A group was created", LLC_GROUP_ADDED, 4},
    {Q(Q_USER_REMOVED), "User Account Removed", "A user account was deleted",
     LLC_USER_ACCOUNT_REMOVED, 5},
    {Q(Q_GROUP_REMOVED), "Group Removed", "A group was deleted", LLC_GROUP_REMOVED, 4},
    {Q(Q_PASSWORD_CHANGED), "Password Changed", "A user's password was changed",
     LLC_PASSWORD_CHANGE_SUCCEEDED, 3},
    {Q(Q_GROUP_MEMBER_ADDED), "Group Member Added", "A user was added to a group",
     LLC_GROUP_MEMBER_ADDED, 5},
    {Q(Q_USER_CHANGED), "User Account Changed",
     "A user account was modified (name, lock, expiry, shell, home)", LLC_USER_ACCOUNT_CHANGED, 4},
    {Q(Q_GROUP_MEMBER_REMOVED), "Group Member Removed", "A user was removed from a group",
     LLC_GROUP_MEMBER_REMOVED, 4},
    {Q(Q_GROUP_CHANGED), "Group Changed", "A group was modified", LLC_GROUP_CHANGED, 4},
    {Q(Q_PASSWORD_CHANGE_FAIL), "Password Change Failed", "A password change was refused",
     LLC_PASSWORD_CHANGE_FAILED, 4},
    {Q(Q_ACCOUNT_MSG), "Linux Account Management Message",
     "An account management message this DSM does not map specifically", LLC_USER_ACCOUNT_CHANGED,
     3},
    {Q(Q_CRON_CMD), "Cron Job Executed", "cron ran a scheduled command for a user",
     LLC_SCHEDULED_TASK, 1},
    {Q(Q_CRONTAB_CHANGED), "Crontab Changed", "A user's crontab was edited, replaced or deleted",
     LLC_CONFIG_MODIFIED, 4},
    {Q(Q_CRON_MSG), "Linux cron Message", "A cron message this DSM does not map specifically",
     LLC_MISC_SYSTEM, 1},
    {Q(Q_SVC_STARTED), "Service Started", "A service or unit started", LLC_SERVICE_STARTED, 1},
    {Q(Q_SVC_STOPPED), "Service Stopped", "A service or unit stopped", LLC_SERVICE_STOPPED, 2},
    {Q(Q_SVC_FAILED), "Service Failure", "A service or unit failed", LLC_SERVICE_FAILURE, 5},
    {Q(Q_SVC_RELOADED), "Service Reloaded", "A service or unit reloaded its configuration",
     LLC_SYSTEM_CONFIGURATION, 2},
    {Q(Q_SESSION_NEW), "User Session Started", "systemd-logind registered a new user session",
     LLC_AUTH_SESSION_OPENED, 1},
    {Q(Q_SESSION_REMOVED), "User Session Ended", "systemd-logind removed a user session",
     LLC_AUTH_SESSION_CLOSED, 1},
    {Q(Q_SYSTEMD_MSG), "Linux systemd Message",
     "A systemd message this DSM does not map specifically", LLC_MISC_SYSTEM, 1},
    {Q(Q_FW_DENY), "Firewall Deny",
     "netfilter (iptables/nftables/ufw/firewalld) logged a dropped or rejected packet",
     LLC_FIREWALL_DENY, 4},
    {Q(Q_FW_PERMIT), "Firewall Permit", "netfilter logged an accepted packet", LLC_FIREWALL_PERMIT,
     1},
    {Q(Q_FW_LOG), "Firewall Packet Logged",
     "netfilter logged a packet without saying what it did with it", LLC_MISC_NETWORK_COMMUNICATION,
     2},
    {Q(Q_KERNEL_INFO), "Linux Kernel Information",
     "A kernel message at notice, info or debug priority (or none)", LLC_SYSTEM_INFORMATION, 1},
    {Q(Q_KERNEL_WARN), "Linux Kernel Warning", "A kernel message at warning priority",
     LLC_SYSTEM_WARNING, 4},
    {Q(Q_KERNEL_ERR), "Linux Kernel Error", "A kernel message at error priority or worse",
     LLC_SYSTEM_ERROR_MSG, 6},
    {Q(Q_KERNEL_OOM), "Linux Kernel Out Of Memory", "The kernel's OOM killer killed a process",
     LLC_SYSTEM_ERROR, 6},
    {Q(Q_KERNEL_SEGFAULT), "Linux Process Crashed",
     "A process was killed by a segmentation fault or general protection fault", LLC_SYSTEM_ERROR,
     5},
    {Q(Q_KERNEL_BOOT), "Linux System Boot", "The kernel announced its version at boot",
     LLC_SYSTEM_BOOT, 3},
    {Q(Q_AUD_LOGIN_OK), "Audit User Login Succeeded", "auditd USER_LOGIN with res=success",
     LLC_HOST_LOGIN_SUCCEEDED, 3},
    {Q(Q_AUD_LOGIN_FAIL), "Audit User Login Failed", "auditd USER_LOGIN with res=failed",
     LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_AUD_AUTH_OK), "Audit User Authentication Succeeded", "auditd USER_AUTH with res=success",
     LLC_GENERAL_AUTH_SUCCEEDED, 2},
    {Q(Q_AUD_AUTH_FAIL), "Audit User Authentication Failed", "auditd USER_AUTH with res=failed",
     LLC_GENERAL_AUTH_FAILED, 5},
    {Q(Q_AUD_USER_ADD), "Audit User Account Added", "auditd ADD_USER", LLC_USER_ACCOUNT_ADDED, 5},
    {Q(Q_AUD_USER_DEL), "Audit User Account Removed", "auditd DEL_USER", LLC_USER_ACCOUNT_REMOVED,
     5},
    {Q(Q_AUD_GROUP_ADD), "Audit Group Added", "auditd ADD_GROUP", LLC_GROUP_ADDED, 4},
    {Q(Q_AUD_GROUP_DEL), "Audit Group Removed", "auditd DEL_GROUP", LLC_GROUP_REMOVED, 4},
    {Q(Q_AUD_CHAUTHTOK), "Audit Password Changed", "auditd USER_CHAUTHTOK",
     LLC_PASSWORD_CHANGE_SUCCEEDED, 3},
    {Q(Q_AUD_EXECVE), "Audit Process Executed", "auditd EXECVE: a program was executed",
     LLC_PROCESS_CREATED, 1},
    {Q(Q_AUD_SYSCALL), "Audit System Call", "auditd SYSCALL record", LLC_AUDIT_USER_ACTION, 1},
    {Q(Q_AUD_AVC), "Audit Access Denied (SELinux/AppArmor)",
     "An AVC or AppArmor record: a mandatory access control decision", LLC_ACCESS_DENIED, 5},
    {Q(Q_AUD_USER_START), "Audit Session Opened", "auditd USER_START", LLC_AUTH_SESSION_OPENED, 1},
    {Q(Q_AUD_USER_END), "Audit Session Closed", "auditd USER_END", LLC_AUTH_SESSION_CLOSED, 1},
    {Q(Q_AUD_CONFIG), "Audit Configuration Changed",
     "auditd CONFIG_CHANGE: audit rules or settings changed", LLC_AUDIT_CONFIG_CHANGE, 5},
    {Q(Q_AUD_DAEMON), "Audit Daemon State Change",
     "auditd DAEMON_* record (start, stop, rotate, abort)", LLC_SYSTEM_STATUS, 3},
    {Q(Q_AUD_SVC_START), "Audit Service Started", "auditd SERVICE_START", LLC_SERVICE_STARTED, 1},
    {Q(Q_AUD_SVC_STOP), "Audit Service Stopped", "auditd SERVICE_STOP", LLC_SERVICE_STOPPED, 2},
    {Q(Q_AUD_USER_CMD), "Audit Privileged Command", "auditd USER_CMD: a command run through sudo",
     LLC_PRIV_ESCALATION_SUCCEEDED, 3},
    {Q(Q_AUD_MSG), "Linux Audit Message", "An audit record this DSM does not map specifically",
     LLC_AUDIT_UNKNOWN, 1},
    {Q(Q_AUD_ANOM), "Audit Anomaly",
     "auditd ANOM_* record (promiscuous mode, abnormal end, login failures)",
     LLC_SUSPICIOUS_ACTIVITY, 6},
    {Q(Q_AUD_USER_MGMT), "Audit User Account Changed",
     "auditd USER_MGMT / GRP_MGMT / ACCT_LOCK records", LLC_USER_ACCOUNT_CHANGED, 4},
    {Q(Q_POLKIT_MSG), "Linux polkit Message", "A polkitd message", LLC_AUTH_UNKNOWN, 1},
    {Q(Q_DBUS_MSG), "Linux D-Bus Message", "A dbus-daemon message", LLC_MISC_SYSTEM, 1},
    {Q(Q_NET_MSG), "Linux Network Message", "A NetworkManager, dhclient or network init message",
     LLC_MISC_SYSTEM, 1},
    {Q(Q_TIME_MSG), "Linux Time Sync Message", "An ntpd or chronyd message", LLC_MISC_SYSTEM, 1},
    {Q(Q_SYSLOG_MSG), "Linux Syslog Daemon Message", "An rsyslogd, syslogd or klogd message",
     LLC_MISC_SYSTEM, 1},
    {Q(Q_LOGROTATE_MSG), "Linux logrotate Message", "A logrotate message", LLC_MISC_SYSTEM, 2},
    {Q(Q_CUPS_MSG), "Linux CUPS Message", "A cupsd message", LLC_MISC_SYSTEM, 1},
    {Q(Q_XINETD_MSG), "Linux xinetd Message", "An xinetd message", LLC_MISC_SYSTEM, 1},
    {Q(Q_DM_MSG), "Linux Display Manager Message", "A gdm or lightdm message", LLC_MISC_SYSTEM, 1},
    {Q(Q_KRB_MSG), "Linux Kerberos Login Message", "A klogind/kshd message", LLC_AUTH_UNKNOWN, 2},
    {Q(Q_UDEV_MSG), "Linux udev Message", "A udev message", LLC_MISC_SYSTEM, 1},
    {Q(Q_DAEMON_MSG), "Linux System Daemon Message",
     "A message of a system daemon (gpm, portmap, rpc.statd, snmpd, irqbalance...)",
     LLC_MISC_SYSTEM, 1},
    {Q(Q_DHCP_LEASE), "DHCP Lease Acquired", "dhclient or NetworkManager obtained a DHCP lease",
     LLC_SYSTEM_CONFIGURATION, 1},
    {Q(Q_XINETD_START), "xinetd Service Connection", "xinetd started a service for a client",
     LLC_SESSION_OPENED, 1},
    {Q(Q_POLKIT_AUTH_FAIL), "polkit Authorization Failed",
     "polkit refused an action or an authentication agent failed", LLC_PRIV_ESCALATION_FAILED, 4},
    {DSM_QID_UNKNOWN(T), "Linux OS Unknown Event", "A line of a Linux program this DSM cannot map",
     LLC_UNKNOWN, 3},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- program table */

enum lx_fam {
    F_NONE,
    F_SSH,
    F_PAM,
    F_SU,
    F_SUDO,
    F_LOGIN,
    F_ACCOUNT,
    F_CRON,
    F_SYSTEMD,
    F_LOGIND,
    F_KERNEL,
    F_AUDIT,
    F_POLKIT,
    F_DBUS,
    F_NET,
    F_DHCP,
    F_TIME,
    F_SYSLOG,
    F_LOGROTATE,
    F_FTP,
    F_VSFTPD,
    F_CUPS,
    F_XINETD,
    F_DM,
    F_KRB,
    F_UDEV,
    F_DAEMON,
    F_INIT, /* SysV init script wrappers: "<daemon> startup succeeded" */
};

/* Sorted by name (strcmp). */
static const struct {
    const char *name;
    uint8_t fam;
} lx_progs[] = {
    {"CRON", F_CRON},
    {"CROND", F_CRON},
    {"NetworkManager", F_NET},
    {"anacron", F_CRON},
    {"atd", F_CRON},
    {"audispd", F_AUDIT},
    {"audit", F_AUDIT},
    {"auditd", F_AUDIT},
    {"bluetooth", F_INIT},
    {"chage", F_ACCOUNT},
    {"chfn", F_ACCOUNT},
    {"chpasswd", F_ACCOUNT},
    {"chronyd", F_TIME},
    {"chsh", F_ACCOUNT},
    {"cron", F_CRON},
    {"crond", F_CRON},
    {"crontab", F_CRON},
    {"cups", F_CUPS},
    {"cupsd", F_CUPS},
    {"dbus", F_DBUS},
    {"dbus-daemon", F_DBUS},
    {"dhclient", F_DHCP},
    {"firewalld", F_DAEMON},
    {"ftpd", F_FTP},
    {"gdm", F_DM},
    {"gdm-binary", F_DM},
    {"gdm-password", F_DM},
    {"gpasswd", F_ACCOUNT},
    {"gpm", F_DAEMON},
    {"groupadd", F_ACCOUNT},
    {"groupdel", F_ACCOUNT},
    {"groupmod", F_ACCOUNT},
    {"hcid", F_DAEMON},
    {"in.ftpd", F_FTP},
    {"irqbalance", F_INIT},
    {"kernel", F_KERNEL},
    {"klogd", F_SYSLOG},
    {"klogind", F_KRB},
    {"kshd", F_KRB},
    {"lightdm", F_DM},
    {"login", F_LOGIN},
    {"logrotate", F_LOGROTATE},
    {"network", F_INIT},
    {"newusers", F_ACCOUNT},
    {"nfslock", F_INIT},
    {"ntpd", F_TIME},
    {"ntpdate", F_TIME},
    {"passwd", F_ACCOUNT},
    {"polkitd", F_POLKIT},
    {"portmap", F_INIT},
    {"random", F_INIT},
    {"rc", F_INIT},
    {"rpc.idmapd", F_DAEMON},
    {"rpc.statd", F_DAEMON},
    {"rpcbind", F_DAEMON},
    {"rpcidmapd", F_INIT},
    {"rsyslogd", F_SYSLOG},
    {"sdpd", F_DAEMON},
    {"snmpd", F_DAEMON},
    {"sshd", F_SSH},
    {"su", F_SU},
    {"sudo", F_SUDO},
    {"sysctl", F_DAEMON},
    {"syslog", F_INIT},
    {"syslogd", F_SYSLOG},
    {"systemd", F_SYSTEMD},
    {"systemd-logind", F_LOGIND},
    {"udev", F_UDEV},
    {"udevd", F_UDEV},
    {"ufw", F_DAEMON},
    {"unix_chkpwd", F_PAM},
    {"useradd", F_ACCOUNT},
    {"userdel", F_ACCOUNT},
    {"usermod", F_ACCOUNT},
    {"vsftpd", F_VSFTPD},
    {"xinetd", F_XINETD},
};

static int lx_cmp(const char *p, size_t n, const char *name)
{
    size_t k = strlen(name);
    int c = memcmp(p, name, n < k ? n : k);
    if (c) return c;
    return n < k ? -1 : n > k ? 1 : 0;
}

static uint8_t lx_prog_find(const char *p, size_t n)
{
    size_t lo = 0, hi = N(lx_progs);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = lx_cmp(p, n, lx_progs[mid].name);
        if (c == 0) return lx_progs[mid].fam;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return F_NONE;
}

static inline bool pfx(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

static inline const char *find(const char *p, size_t n, const char *lit)
{
    return p ? strm_memmem(p, n, lit, strlen(lit)) : NULL;
}

static inline bool has(const char *p, size_t n, const char *lit)
{
    return find(p, n, lit) != NULL;
}

/* The family of a program name, including the prefix families. */
static uint8_t lx_family(const char *p, size_t n)
{
    if (n == 0 || n > 40) return F_NONE;
    uint8_t f = lx_prog_find(p, n);
    if (f) return f;
    if (pfx(p, n, "systemd-")) return F_SYSTEMD;
    if (pfx(p, n, "sshd-")) return F_SSH; /* sshd-session, sshd-auth (OpenSSH 9.8+) */
    if (pfx(p, n, "pam_")) return F_PAM;
    return F_NONE;
}

/* ---------------------------------------------------------------- parse state */

struct lx {
    struct strm_event *ev;
    const struct dsm_ctx *ctx;
    const char *m; /* message being classified (may be a slice of ev->message) */
    size_t n;
    struct dsm_props pr;
    bool props;
};

static void lx_prop(struct lx *x, const char *k, const char *v, size_t vn)
{
    if (!vn) return;
    if (!x->props) {
        dsm_props_init(&x->pr);
        x->props = true;
    }
    dsm_props_add(&x->pr, k, v, vn);
}

static void lx_user(struct lx *x, const char *p, size_t n)
{
    while (n && (p[n - 1] == ' ' || p[n - 1] == ','))
        n--;
    if (n == 0 || n > 256) return;
    x->ev->username.p = p;
    x->ev->username.len = (uint32_t)n;
}

static size_t word_len(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != ' ' && p[i] != '\t')
        i++;
    return i;
}

/* Sets sourceip from text when it is an address; else keeps it as a property. */
static void lx_srcip(struct lx *x, const char *p, size_t n, const char *prop)
{
    while (n && (p[n - 1] == ':' || p[n - 1] == ',' || p[n - 1] == ']' || p[n - 1] == ')'))
        n--;
    while (n && (*p == '[' || *p == '('))
        p++, n--;
    if (!n) return;
    if (!dsm_set_ip(&x->ev->sourceip, p, n) && prop) lx_prop(x, prop, p, n);
}

static void lx_digits_port(uint16_t *port, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && i < 6 && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i) dsm_set_port(port, p, i);
}

/* Value of "key=" (key preceded by start or a space) up to the next space. */
static bool lx_kv(const char *p, size_t n, const char *key, const char **v, size_t *vn)
{
    size_t k = strlen(key);
    const char *e = p + n, *s = p;
    while (s < e) {
        const char *f = strm_memmem(s, (size_t)(e - s), key, k);
        if (!f) return false;
        if ((f == p || f[-1] == ' ' || f[-1] == '\t' || f[-1] == ',' || f[-1] == '\'') &&
            f + k < e + 1) {
            const char *q = f + k;
            size_t l = 0;
            if (q < e && *q == '"') {
                q++;
                while (q + l < e && q[l] != '"')
                    l++;
            } else {
                while (q + l < e && q[l] != ' ' && q[l] != '\t' && q[l] != '\'')
                    l++;
            }
            *v = q;
            *vn = l;
            return true;
        }
        s = f + 1;
    }
    return false;
}

/* ---------------------------------------------------------------- PAM */

/*
 * pam_unix texts: "authentication failure; logname= uid= euid= tty= ruser= rhost= [user=]",
 * "check pass; user unknown", "session opened for user U[(uid=N)] by X(uid=N)",
 * "session closed for user U", "password changed for U", "PAM N more authentication
 * failure[s]; ...", "PAM service(S) ignoring max retries; N > M".
 */
static uint32_t lx_pam_text(struct lx *x, const char *m, size_t n)
{
    const char *v;
    size_t vn;
    if (pfx(m, n, "authentication failure;") || pfx(m, n, "PAM ")) {
        bool more = pfx(m, n, "PAM ");
        if (more && has(m, n, "ignoring max retries")) return Q(Q_PAM_MAX_RETRIES);
        if (more && !has(m, n, "more authentication failure")) return Q(Q_PAM_MSG);
        if (lx_kv(m, n, "rhost=", &v, &vn)) lx_srcip(x, v, vn, "rhost");
        if (lx_kv(m, n, "user=", &v, &vn)) lx_user(x, v, vn);
        if (lx_kv(m, n, "tty=", &v, &vn)) lx_prop(x, "tty", v, vn);
        if (lx_kv(m, n, "ruser=", &v, &vn)) lx_prop(x, "ruser", v, vn);
        return more ? Q(Q_PAM_AUTH_FAIL_MORE) : Q(Q_PAM_AUTH_FAIL);
    }
    if (pfx(m, n, "check pass; user unknown")) return Q(Q_PAM_USER_UNKNOWN);
    if (pfx(m, n, "authentication token manipulation error")) {
        if (lx_kv(m, n, "user=", &v, &vn)) lx_user(x, v, vn);
        return Q(Q_PASSWORD_CHANGE_FAIL);
    }
    if (pfx(m, n, "session opened for user ") || pfx(m, n, "session closed for user ")) {
        bool open = m[8] == 'o';
        const char *u = m + 24;
        size_t un = word_len(u, n - 24);
        const char *paren = memchr(u, '(', un);
        if (paren) un = (size_t)(paren - u);
        lx_user(x, u, un);
        const char *by = find(u, n - 24, " by ");
        if (by) {
            const char *b = by + 4;
            size_t bn = word_len(b, (size_t)(m + n - b));
            const char *bp = memchr(b, '(', bn);
            if (bp && bp > b) lx_prop(x, "by", b, (size_t)(bp - b));
        }
        return open ? Q(Q_PAM_SESSION_OPEN) : Q(Q_PAM_SESSION_CLOSE);
    }
    if (pfx(m, n, "password changed for ")) {
        lx_user(x, m + 21, word_len(m + 21, n - 21));
        return Q(Q_PASSWORD_CHANGED);
    }
    if (pfx(m, n, "password check failed for user (")) {
        const char *u = m + 32;
        const char *e = memchr(u, ')', n - 32);
        if (e) lx_user(x, u, (size_t)(e - u));
        return Q(Q_PAM_AUTH_FAIL);
    }
    return Q(Q_PAM_MSG);
}

/* "pam_unix(sshd:auth): text" inside a program's message; false when not that shape. */
static bool lx_pam_prefixed(struct lx *x, uint32_t *qid)
{
    const char *m = x->m;
    size_t n = x->n;
    if (!pfx(m, n, "pam_")) return false;
    const char *c = memchr(m, ':', n < 64 ? n : 64);
    const char *o = memchr(m, '(', n < 64 ? n : 64);
    if (!c) return false;
    if (o && o < c) {
        /* module(service:type): */
        const char *close = memchr(c, ')', (size_t)(m + n - c));
        if (!close || close + 1 >= m + n || close[1] != ':') return false;
        lx_prop(x, "pam_module", m, (size_t)(o - m));
        lx_prop(x, "service", o + 1, (size_t)(c - o - 1));
        const char *t = close + 2;
        while (t < m + n && *t == ' ')
            t++;
        *qid = lx_pam_text(x, t, (size_t)(m + n - t));
        return true;
    }
    /* "pam_sss: ..." or "pam_unix: ..." */
    const char *t = c + 1;
    while (t < m + n && *t == ' ')
        t++;
    *qid = lx_pam_text(x, t, (size_t)(m + n - t));
    return true;
}

/* ---------------------------------------------------------------- sshd */

/*
 * Reads "[invalid user |authenticating user |user ]USER IP[ port P]" as OpenSSH writes the
 * peer of a connection: the address is the word before " port ", the user what precedes it.
 */
static void ssh_peer(struct lx *x, const char *p, size_t n)
{
    const char *e = p + n;
    const char *port = find(p, n, " port ");
    const char *ipe;
    if (port) {
        ipe = port;
        lx_digits_port(&x->ev->sourceport, port + 6, (size_t)(e - port - 6));
    } else {
        ipe = p + word_len(p, n);
    }
    const char *ips = ipe;
    while (ips > p && ips[-1] != ' ')
        ips--;
    lx_srcip(x, ips, (size_t)(ipe - ips), "rhost");
    if (ips > p + 1) {
        const char *u = p;
        size_t un = (size_t)(ips - 1 - p);
        if (pfx(u, un, "invalid user "))
            u += 13, un -= 13;
        else if (pfx(u, un, "authenticating user "))
            u += 20, un -= 20;
        else if (pfx(u, un, "user "))
            u += 5, un -= 5;
        else
            return;
        lx_user(x, u, un);
    }
}

/* "VERB METHOD for [invalid user ]USER from IP port P ssh2[: info]". */
static uint32_t ssh_auth(struct lx *x, const char *m, size_t n, bool ok)
{
    const char *e = m + n;
    const char *sp = memchr(m, ' ', n);
    if (!sp) return Q(Q_SSH_MSG);
    const char *meth = sp + 1;
    const char *for_ = find(meth, (size_t)(e - meth), " for ");
    if (!for_) return Q(Q_SSH_MSG);
    lx_prop(x, "method", meth, (size_t)(for_ - meth));
    const char *u = for_ + 5;
    bool invalid = false;
    if (pfx(u, (size_t)(e - u), "invalid user ")) {
        invalid = true;
        u += 13;
    }
    /* The user name is free text: take the last " from " before the last " port ". */
    const char *port = NULL, *s = u;
    for (const char *f; (f = find(s, (size_t)(e - s), " port ")); s = f + 1)
        port = f;
    const char *lim = port ? port : e;
    const char *from = NULL;
    s = u;
    for (const char *f; (f = find(s, (size_t)(lim - s), " from ")); s = f + 1)
        from = f;
    if (!from) return Q(Q_SSH_MSG);
    lx_user(x, u, (size_t)(from - u));
    lx_srcip(x, from + 6, word_len(from + 6, (size_t)(lim - from - 6)), "rhost");
    if (port) lx_digits_port(&x->ev->sourceport, port + 6, (size_t)(e - port - 6));
    x->ev->protocolid = 6;
    if (ok) return Q(Q_SSH_LOGIN_OK);
    return invalid ? Q(Q_SSH_LOGIN_FAIL_INVALID) : Q(Q_SSH_LOGIN_FAIL);
}

static uint32_t lx_ssh_text(struct lx *x, const char *m, size_t n, int depth);

static uint32_t lx_ssh(struct lx *x)
{
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    return lx_ssh_text(x, x->m, x->n, 0);
}

static uint32_t lx_ssh_text(struct lx *x, const char *m, size_t n, int depth)
{
    const char *e = m + n;
    /* " [preauth]" / " [postauth]" trailers carry no meaning for the QID. */
    if (n > 10 && m[n - 1] == ']') {
        if (n > 10 && memcmp(e - 10, " [preauth]", 10) == 0)
            n -= 10;
        else if (n > 11 && memcmp(e - 11, " [postauth]", 11) == 0)
            n -= 11;
        e = m + n;
    }
    bool err = false;
    if (pfx(m, n, "error: ")) {
        err = true;
        m += 7, n -= 7;
    } else if (pfx(m, n, "fatal: ")) {
        m += 7, n -= 7;
    }
    if (n == 0) return Q(Q_SSH_MSG);
    switch (m[0]) {
    case 'A':
        if (pfx(m, n, "Accepted ")) return ssh_auth(x, m, n, true);
        if (pfx(m, n, "Address ") && has(m, n, "POSSIBLE BREAK-IN")) {
            lx_srcip(x, m + 8, word_len(m + 8, n - 8), NULL);
            return Q(Q_SSH_BREAKIN);
        }
        break;
    case 'B':
        if (pfx(m, n, "Bad protocol version identification")) {
            const char *f = find(m, n, " from ");
            if (f) ssh_peer(x, f + 6, (size_t)(e - f - 6));
            return Q(Q_SSH_BAD_PROTO);
        }
        break;
    case 'C':
        if (pfx(m, n, "Connection closed by ") || pfx(m, n, "Connection reset by ")) {
            const char *p = m + (m[11] == 'c' ? 21 : 20);
            ssh_peer(x, p, (size_t)(e - p));
            return Q(Q_SSH_CONN_CLOSED);
        }
        if (pfx(m, n, "Connection from ")) {
            ssh_peer(x, m + 16, n - 16);
            return Q(Q_SSH_CONN_OPEN);
        }
        break;
    case 'D':
        if (pfx(m, n, "Did not receive identification string from ")) {
            ssh_peer(x, m + 43, n - 43);
            return Q(Q_SSH_NO_IDENT);
        }
        if (pfx(m, n, "Disconnected from ")) {
            ssh_peer(x, m + 18, n - 18);
            return Q(Q_SSH_CONN_CLOSED);
        }
        if (pfx(m, n, "Disconnecting")) {
            if (has(m, n, "Too many authentication failures")) {
                const char *f = find(m, n, " for ");
                if (f)
                    lx_user(x, f + 5, (size_t)(e - f - 5));
                else if (pfx(m, n, "Disconnecting ") && !pfx(m, n, "Disconnecting:")) {
                    const char *c = find(m, n, ": Too many");
                    if (c) ssh_peer(x, m + 14, (size_t)(c - m - 14));
                }
                return Q(Q_SSH_TOO_MANY);
            }
            return Q(Q_SSH_CONN_CLOSED);
        }
        break;
    case 'F':
        if (pfx(m, n, "Failed ")) return ssh_auth(x, m, n, false);
        break;
    case 'I':
        if (pfx(m, n, "Invalid user ")) {
            const char *p = m + 13;
            const char *f = NULL, *s = p;
            for (const char *g; (g = find(s, (size_t)(e - s), " from ")); s = g + 1)
                f = g;
            if (!f) {
                lx_user(x, p, (size_t)(e - p));
                return Q(Q_SSH_INVALID_USER);
            }
            lx_user(x, p, (size_t)(f - p));
            ssh_peer(x, f + 6, (size_t)(e - f - 6));
            return Q(Q_SSH_INVALID_USER);
        }
        break;
    case 'P':
        if (pfx(m, n, "PAM ")) return lx_pam_text(x, m, n);
        break;
    case 'R':
        if (pfx(m, n, "Received disconnect from ")) {
            const char *p = m + 25;
            size_t pn = (size_t)(e - p);
            /* "IP port P:CODE: text" or old "IP: CODE: text" */
            const char *port = find(p, pn, " port ");
            if (port) {
                ssh_peer(x, p, (size_t)(port - p) + 6 + word_len(port + 6, (size_t)(e - port - 6)));
            } else {
                lx_srcip(x, p, word_len(p, pn), NULL);
            }
            return err ? Q(Q_SSH_DISCONNECT_ERR) : Q(Q_SSH_DISCONNECT);
        }
        if (pfx(m, n, "Received signal ")) return Q(Q_SSH_STOP);
        if (pfx(m, n, "ROOT LOGIN REFUSED FROM ")) {
            lx_user(x, "root", 4);
            lx_srcip(x, m + 24, word_len(m + 24, n - 24), "rhost");
            return Q(Q_SSH_NOT_ALLOWED);
        }
        break;
    case 'S':
        if (pfx(m, n, "Server listening on ")) return Q(Q_SSH_LISTEN);
        break;
    case 'T':
        if (pfx(m, n, "Too many authentication failures")) return Q(Q_SSH_TOO_MANY);
        if (pfx(m, n, "Timeout")) return Q(Q_SSH_CONN_CLOSED);
        break;
    case 'U':
        if (pfx(m, n, "User ") && has(m, n, " not allowed because ")) {
            const char *f = find(m, n, " from ");
            if (f) {
                lx_user(x, m + 5, (size_t)(f - m - 5));
                lx_srcip(x, f + 6, word_len(f + 6, (size_t)(e - f - 6)), "rhost");
            }
            return Q(Q_SSH_NOT_ALLOWED);
        }
        if (pfx(m, n, "Unable to negotiate with ")) {
            ssh_peer(x, m + 25, (size_t)((find(m, n, ": ") ? find(m, n, ": ") : e) - m - 25));
            return Q(Q_SSH_BAD_PROTO);
        }
        break;
    case 'b':
        if (pfx(m, n, "banner exchange: ")) return Q(Q_SSH_BAD_PROTO);
        break;
    case 'i':
        if (pfx(m, n, "input_userauth_request: invalid user ")) {
            lx_user(x, m + 37, word_len(m + 37, n - 37));
            return Q(Q_SSH_INVALID_USER);
        }
        break;
    case 'k':
        if (pfx(m, n, "kex_exchange_identification: ")) return Q(Q_SSH_NO_IDENT);
        break;
    case 'm':
        if (pfx(m, n, "maximum authentication attempts exceeded for ")) {
            const char *p = m + 45;
            const char *f = find(p, (size_t)(e - p), " from ");
            if (f) {
                const char *u = p;
                if (pfx(u, (size_t)(f - u), "invalid user ")) u += 13;
                lx_user(x, u, (size_t)(f - u));
                ssh_peer(x, f + 6, (size_t)(e - f - 6));
            }
            return Q(Q_SSH_TOO_MANY);
        }
        if (depth == 0 && pfx(m, n, "message repeated ")) {
            /* rsyslog: "message repeated N times: [ text]" */
            const char *p = m + 17;
            size_t dn = 0;
            while (dn < 9 && p + dn < e && p[dn] >= '0' && p[dn] <= '9')
                dn++;
            uint64_t cnt;
            const char *br = find(m, n, ": [ ");
            if (dn && br && dsm_parse_uint(p, dn, 1000000000, &cnt)) {
                x->ev->eventcount = (uint32_t)cnt;
                const char *t = br + 4;
                size_t tn = (size_t)(e - t);
                if (tn && t[tn - 1] == ']') tn--;
                return lx_ssh_text(x, t, tn, 1);
            }
        }
        break;
    case 'r':
        if (pfx(m, n, "reverse mapping checking getaddrinfo for ")) {
            const char *b = memchr(m, '[', n);
            if (b) {
                const char *c = memchr(b, ']', (size_t)(e - b));
                if (c) lx_srcip(x, b + 1, (size_t)(c - b - 1), NULL);
            }
            return Q(Q_SSH_BREAKIN);
        }
        break;
    }
    if (pfx(m, n, "PAM: Authentication failure for ")) {
        const char *p = m + 32;
        const char *f = find(p, (size_t)(e - p), " from ");
        if (f) {
            const char *u = p;
            if (pfx(u, (size_t)(f - u), "illegal user ")) u += 13;
            if (pfx(u, (size_t)(f - u), "invalid user ")) u += 13;
            lx_user(x, u, (size_t)(f - u));
            lx_srcip(x, f + 6, word_len(f + 6, (size_t)(e - f - 6)), "rhost");
        }
        return Q(Q_SSH_LOGIN_FAIL);
    }
    return Q(Q_SSH_MSG);
}

/* ---------------------------------------------------------------- su, sudo, login */

static uint32_t lx_su(struct lx *x)
{
    const char *m = x->m;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    /* shadow su: "Successful su for root by alice", "FAILED su for root by alice",
     * "+ pts/0 alice:root", "- pts/0 alice:root"; util-linux: "(to root) alice on pts/0",
     * "FAILED SU (to root) alice on pts/0". */
    if (pfx(m, n, "Successful su for ") || pfx(m, n, "FAILED su for ")) {
        bool ok = m[0] == 'S';
        const char *p = m + (ok ? 18 : 14);
        const char *by = find(p, (size_t)(m + n - p), " by ");
        if (by) {
            lx_prop(x, "target_user", p, (size_t)(by - p));
            lx_user(x, by + 4, word_len(by + 4, (size_t)(m + n - by - 4)));
        }
        return ok ? Q(Q_SU_OK) : Q(Q_SU_FAIL);
    }
    bool fail = false;
    if (pfx(m, n, "FAILED SU ")) {
        fail = true;
        m += 10, n -= 10;
    }
    if (pfx(m, n, "(to ")) {
        const char *c = memchr(m, ')', n);
        if (c) {
            lx_prop(x, "target_user", m + 4, (size_t)(c - m - 4));
            const char *u = c + 1;
            while (u < m + n && *u == ' ')
                u++;
            lx_user(x, u, word_len(u, (size_t)(m + n - u)));
        }
        return fail ? Q(Q_SU_FAIL) : Q(Q_SU_OK);
    }
    if (n > 2 && (m[0] == '+' || m[0] == '-') && m[1] == ' ') {
        const char *p = m + 2;
        size_t tty = word_len(p, n - 2);
        const char *u = p + tty + 1;
        if (u < m + n) {
            const char *c = memchr(u, ':', (size_t)(m + n - u));
            if (c) {
                lx_user(x, u, (size_t)(c - u));
                lx_prop(x, "target_user", c + 1, word_len(c + 1, (size_t)(m + n - c - 1)));
            }
        }
        return m[0] == '+' ? Q(Q_SU_OK) : Q(Q_SU_FAIL);
    }
    if (fail) return Q(Q_SU_FAIL);
    return Q(Q_SU_MSG);
}

/* sudo: "USER : [N incorrect password attempts ; |user NOT in sudoers ; ]TTY=t ; PWD=p ;
 * USER=u ; COMMAND=c". */
static uint32_t lx_sudo(struct lx *x)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    const char *c = find(m, n, " : ");
    if (!c) return Q(Q_SUDO_MSG);
    const char *u = m;
    while (u < c && *u == ' ')
        u++;
    const char *rest = c + 3;
    size_t rn = (size_t)(e - rest);
    const char *tty = find(rest, rn, "TTY=");
    const char *cmd = find(rest, rn, "COMMAND=");
    if (!tty && !cmd) return Q(Q_SUDO_MSG);
    lx_user(x, u, (size_t)(c - u));
    const char *v;
    size_t vn;
    if (tty && lx_kv(tty, (size_t)(e - tty), "TTY=", &v, &vn)) lx_prop(x, "tty", v, vn);
    const char *pwd = find(rest, rn, "PWD=");
    if (pwd && lx_kv(pwd, (size_t)(e - pwd), "PWD=", &v, &vn)) lx_prop(x, "pwd", v, vn);
    const char *ru = find(rest, rn, " USER=");
    if (ru && lx_kv(ru + 1, (size_t)(e - ru - 1), "USER=", &v, &vn))
        lx_prop(x, "target_user", v, vn);
    if (cmd) lx_prop(x, "command", cmd + 8, (size_t)(e - cmd - 8));
    if (has(rest, (size_t)((tty ? tty : e) - rest), "incorrect password attempt") ||
        pfx(rest, rn, "a password is required") || pfx(rest, rn, "authentication failure"))
        return Q(Q_SUDO_FAIL);
    if (pfx(rest, rn, "user NOT in sudoers") || pfx(rest, rn, "user NOT authorized on host"))
        return Q(Q_SUDO_NOT_SUDOERS);
    if (pfx(rest, rn, "command not allowed")) return Q(Q_SUDO_NOT_ALLOWED);
    if (tty == rest || pfx(rest, rn, "TTY=") || pfx(rest, rn, "PWD=")) return Q(Q_SUDO_OK);
    return Q(Q_SUDO_MSG);
}

static uint32_t lx_login(struct lx *x)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    /* login: "ROOT LOGIN ON tty2[ FROM host]", "LOGIN ON tty1 BY alice[ FROM host]",
     * "FAILED LOGIN 1 FROM host FOR alice, Authentication failure",
     * "FAILED LOGIN (1) on '/dev/tty1' FOR 'alice', Authentication failure". */
    if (pfx(m, n, "ROOT LOGIN ON ")) {
        lx_user(x, "root", 4);
        lx_prop(x, "tty", m + 14, word_len(m + 14, n - 14));
        const char *f = find(m, n, " FROM ");
        if (f) lx_srcip(x, f + 6, word_len(f + 6, (size_t)(e - f - 6)), "rhost");
        return Q(Q_LOGIN_OK);
    }
    if (pfx(m, n, "LOGIN ON ")) {
        const char *b = find(m, n, " BY ");
        if (b) lx_user(x, b + 4, word_len(b + 4, (size_t)(e - b - 4)));
        const char *f = find(m, n, " FROM ");
        if (f) lx_srcip(x, f + 6, word_len(f + 6, (size_t)(e - f - 6)), "rhost");
        return Q(Q_LOGIN_OK);
    }
    if (pfx(m, n, "FAILED LOGIN") || pfx(m, n, "FAILED LOGINS")) {
        const char *f = find(m, n, " FOR ");
        if (f) {
            const char *u = f + 5;
            size_t un = word_len(u, (size_t)(e - u));
            if (un && u[un - 1] == ',') un--;
            if (un >= 2 && u[0] == '\'' && u[un - 1] == '\'') u++, un -= 2;
            lx_user(x, u, un);
        }
        const char *fr = find(m, n, " FROM ");
        if (fr) lx_srcip(x, fr + 6, word_len(fr + 6, (size_t)(e - fr - 6)), "rhost");
        return Q(Q_LOGIN_FAIL);
    }
    return Q(Q_LOGIN_MSG);
}

/* ---------------------------------------------------------------- shadow-utils */

/* Copies the text between the first pair of single quotes after p into *v. */
static bool quoted(const char *p, const char *e, const char **v, size_t *vn, const char **after)
{
    const char *a = memchr(p, '\'', (size_t)(e - p));
    if (!a) return false;
    const char *b = memchr(a + 1, '\'', (size_t)(e - a - 1));
    if (!b) return false;
    *v = a + 1;
    *vn = (size_t)(b - a - 1);
    if (after) *after = b + 1;
    return true;
}

static uint32_t lx_account(struct lx *x)
{
    const char *m = x->m, *e = m + x->n, *v, *after;
    size_t n = x->n, vn;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    if (pfx(m, n, "new user: ")) {
        if (lx_kv(m, n, "name=", &v, &vn)) lx_user(x, v, vn);
        if (lx_kv(m, n, "UID=", &v, &vn))
            lx_prop(x, "uid", v, vn && v[vn - 1] == ',' ? vn - 1 : vn);
        return Q(Q_USER_ADDED);
    }
    if (pfx(m, n, "new group: ") || pfx(m, n, "group added to ")) {
        if (lx_kv(m, n, "name=", &v, &vn))
            lx_prop(x, "group", v, vn && v[vn - 1] == ',' ? vn - 1 : vn);
        return Q(Q_GROUP_ADDED);
    }
    if (pfx(m, n, "delete user ")) {
        if (quoted(m, e, &v, &vn, NULL)) lx_user(x, v, vn);
        return Q(Q_USER_REMOVED);
    }
    if (pfx(m, n, "removed group ") || (pfx(m, n, "group ") && has(m, n, "' removed"))) {
        if (quoted(m, e, &v, &vn, NULL)) lx_prop(x, "group", v, vn);
        return Q(Q_GROUP_REMOVED);
    }
    if (pfx(m, n, "add ") || pfx(m, n, "delete ")) {
        /* usermod: "add 'bob' to group 'sudo'", "delete 'bob' from shadow group 'x'" */
        if (quoted(m, e, &v, &vn, &after)) {
            lx_user(x, v, vn);
            if (quoted(after, e, &v, &vn, NULL)) lx_prop(x, "group", v, vn);
            return m[0] == 'a' ? Q(Q_GROUP_MEMBER_ADDED) : Q(Q_GROUP_MEMBER_REMOVED);
        }
        return Q(Q_ACCOUNT_MSG);
    }
    if (pfx(m, n, "user ") && (has(m, n, " added by ") || has(m, n, " removed by "))) {
        /* gpasswd: "user bob added by root to group sudo" */
        bool add = has(m, n, " added by ");
        lx_user(x, m + 5, word_len(m + 5, n - 5));
        const char *g = find(m, n, " group ");
        if (g) lx_prop(x, "group", g + 7, word_len(g + 7, (size_t)(e - g - 7)));
        return add ? Q(Q_GROUP_MEMBER_ADDED) : Q(Q_GROUP_MEMBER_REMOVED);
    }
    if (pfx(m, n, "password for ") || pfx(m, n, "password changed for ")) {
        if (m[9] == 'f' && quoted(m, e, &v, &vn, NULL))
            lx_user(x, v, vn);
        else if (m[9] == 'c')
            lx_user(x, m + 21, word_len(m + 21, n - 21));
        return Q(Q_PASSWORD_CHANGED);
    }
    if (pfx(m, n, "change user ") && has(m, n, " password")) {
        if (quoted(m, e, &v, &vn, NULL)) lx_user(x, v, vn);
        return Q(Q_PASSWORD_CHANGED);
    }
    if (pfx(m, n, "change user ") || pfx(m, n, "lock user ") || pfx(m, n, "unlock user ") ||
        pfx(m, n, "changed password expiry for ") || pfx(m, n, "change '")) {
        if (quoted(m, e, &v, &vn, NULL))
            lx_user(x, v, vn);
        else if (pfx(m, n, "changed password expiry for "))
            lx_user(x, m + 28, word_len(m + 28, n - 28));
        return Q(Q_USER_CHANGED);
    }
    if (pfx(m, n, "group changed in ") || pfx(m, n, "change group ")) return Q(Q_GROUP_CHANGED);
    if (has(m, n, "password") && (has(m, n, "failed") || has(m, n, "FAILED")))
        return Q(Q_PASSWORD_CHANGE_FAIL);
    return Q(Q_ACCOUNT_MSG);
}

/* ---------------------------------------------------------------- cron */

static uint32_t lx_cron(struct lx *x)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    /* "(user) CMD (command)", "(user) BEGIN EDIT (user)", "(user) REPLACE (user)" */
    if (pfx(m, n, "(")) {
        const char *c = memchr(m, ')', n);
        if (!c) return Q(Q_CRON_MSG);
        const char *u = m + 1;
        size_t un = (size_t)(c - u);
        const char *a = c + 1;
        while (a < e && *a == ' ')
            a++;
        size_t an = (size_t)(e - a);
        if (pfx(a, an, "CMD ")) {
            if (!(un == 4 && memcmp(u, "CRON", 4) == 0)) lx_user(x, u, un);
            const char *cmd = a + 4;
            size_t cn = (size_t)(e - cmd);
            if (cn >= 2 && cmd[0] == '(' && cmd[cn - 1] == ')') cmd++, cn -= 2;
            lx_prop(x, "command", cmd, cn);
            return Q(Q_CRON_CMD);
        }
        if (pfx(a, an, "REPLACE") || pfx(a, an, "DELETE") || pfx(a, an, "END EDIT") ||
            pfx(a, an, "BEGIN EDIT")) {
            lx_user(x, u, un);
            return Q(Q_CRONTAB_CHANGED);
        }
        return Q(Q_CRON_MSG);
    }
    if (pfx(m, n, "Job `") && has(m, n, "' started")) return Q(Q_CRON_CMD);
    return Q(Q_CRON_MSG);
}

/* ---------------------------------------------------------------- systemd */

static uint32_t lx_systemd(struct lx *x, bool logind)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    if (pfx(m, n, "New session ")) {
        const char *u = find(m, n, " of user ");
        if (u) {
            const char *p = u + 9;
            size_t pn = word_len(p, (size_t)(e - p));
            if (pn && p[pn - 1] == '.') pn--;
            lx_user(x, p, pn);
        }
        return Q(Q_SESSION_NEW);
    }
    if (pfx(m, n, "Removed session ") || (pfx(m, n, "Session ") && has(m, n, " logged out")))
        return Q(Q_SESSION_REMOVED);
    if (logind) return Q(Q_SYSTEMD_MSG);
    if (pfx(m, n, "Started ") || pfx(m, n, "Starting ")) return Q(Q_SVC_STARTED);
    if (pfx(m, n, "Stopped ") || pfx(m, n, "Stopping ")) return Q(Q_SVC_STOPPED);
    if (pfx(m, n, "Reloaded ") || pfx(m, n, "Reloading ")) return Q(Q_SVC_RELOADED);
    if (pfx(m, n, "Failed to start ") || has(m, n, ": Failed with result ") ||
        has(m, n, "status=1/FAILURE") || has(m, n, ": Main process exited, code=killed") ||
        (has(m, n, ": Main process exited") && !has(m, n, "status=0/SUCCESS")))
        return Q(Q_SVC_FAILED);
    return Q(Q_SYSTEMD_MSG);
}

/* SysV init wrappers: "cupsd startup succeeded", "Starting pcmcia:  succeeded". */
static uint32_t lx_init_text(const char *m, size_t n, uint32_t fallback)
{
    if (n >= 9 && memcmp(m + n - 9, "succeeded", 9) == 0) {
        if (has(m, n, "startup succeeded") || pfx(m, n, "Starting ")) return Q(Q_SVC_STARTED);
        if (has(m, n, "shutdown succeeded") || pfx(m, n, "Stopping ")) return Q(Q_SVC_STOPPED);
    }
    if (n >= 6 && memcmp(m + n - 6, "failed", 6) == 0 &&
        (has(m, n, "startup failed") || pfx(m, n, "Starting ")))
        return Q(Q_SVC_FAILED);
    return fallback;
}

/* ---------------------------------------------------------------- kernel */

static bool ci_has(const char *p, size_t n, const char *lit)
{
    return dsm_memcasemem(p, n, lit) != NULL;
}

/* netfilter LOG: "[ts] PREFIX IN=eth0 OUT= MAC=d:d:..:s:s:..:t:t SRC= DST= ... PROTO= SPT= DPT=" */
static bool lx_netfilter(struct lx *x, uint32_t *qid)
{
    const char *m = x->m, *e = m + x->n;
    const char *in = NULL;
    for (const char *s = m, *f; (f = find(s, (size_t)(e - s), "IN=")); s = f + 1) {
        if (f == m || f[-1] == ' ' || f[-1] == ']' || f[-1] == ':') {
            in = f;
            break;
        }
    }
    if (!in || !has(in, (size_t)(e - in), " SRC=")) return false;
    const char *pre = m, *pe = in;
    if (pre < pe && *pre == '[') { /* kernel timestamp "[ 1234.5678] " */
        const char *c = memchr(pre, ']', (size_t)(pe - pre));
        if (c && c + 1 < pe && (c[1] == ' ')) {
            bool ts = true;
            for (const char *k = pre + 1; k < c; k++)
                if (!((*k >= '0' && *k <= '9') || *k == '.' || *k == ' ')) ts = false;
            if (ts) pre = c + 1;
        }
    }
    while (pre < pe && *pre == ' ')
        pre++;
    while (pe > pre && (pe[-1] == ' '))
        pe--;
    size_t pn = (size_t)(pe - pre);
    if (pn) lx_prop(x, "prefix", pre, pn);
    struct strm_event *ev = x->ev;
    const char *p = in;
    while (p < e) {
        size_t wl = word_len(p, (size_t)(e - p));
        const char *eq = memchr(p, '=', wl);
        if (eq) {
            const char *k = p, *v = eq + 1;
            size_t kn = (size_t)(eq - p), vn = (size_t)(p + wl - v);
            if (kn == 2 && memcmp(k, "IN", 2) == 0)
                lx_prop(x, "in_interface", v, vn);
            else if (kn == 3 && memcmp(k, "OUT", 3) == 0)
                lx_prop(x, "out_interface", v, vn);
            else if (kn == 3 && memcmp(k, "SRC", 3) == 0)
                dsm_set_ip(&ev->sourceip, v, vn);
            else if (kn == 3 && memcmp(k, "DST", 3) == 0)
                dsm_set_ip(&ev->destinationip, v, vn);
            else if (kn == 3 && memcmp(k, "SPT", 3) == 0)
                dsm_set_port(&ev->sourceport, v, vn);
            else if (kn == 3 && memcmp(k, "DPT", 3) == 0)
                dsm_set_port(&ev->destinationport, v, vn);
            else if (kn == 5 && memcmp(k, "PROTO", 5) == 0)
                ev->protocolid = dsm_protocol(v, vn);
            else if (kn == 3 && memcmp(k, "MAC", 3) == 0 && vn >= 35) {
                dsm_set_mac(ev->destinationmac, v, 17);
                dsm_set_mac(ev->sourcemac, v + 18, 17);
            }
        }
        p += wl;
        while (p < e && *p == ' ')
            p++;
    }
    if (ci_has(pre, pn, "DROP") || ci_has(pre, pn, "REJECT") || ci_has(pre, pn, "BLOCK") ||
        ci_has(pre, pn, "DENY") || ci_has(pre, pn, "DENIED"))
        *qid = Q(Q_FW_DENY);
    else if (ci_has(pre, pn, "ACCEPT") || ci_has(pre, pn, "ALLOW") || ci_has(pre, pn, "PERMIT"))
        *qid = Q(Q_FW_PERMIT);
    else
        *qid = Q(Q_FW_LOG);
    return true;
}

static uint32_t lx_audit(struct lx *x);

static uint32_t lx_kernel(struct lx *x)
{
    const char *m = x->m;
    size_t n = x->n;
    uint32_t q;
    if (lx_netfilter(x, &q)) return q;
    const char *a = find(m, n < 64 ? n : 64, "type=");
    if (a && (a == m || a[-1] == ' ') && has(m, n, "audit(")) {
        x->m = a;
        x->n = (size_t)(m + n - a);
        return lx_audit(x);
    }
    if (has(m, n, "Out of memory: Kill")) return Q(Q_KERNEL_OOM);
    if (has(m, n, " segfault at ") || has(m, n, " general protection "))
        return Q(Q_KERNEL_SEGFAULT);
    if (pfx(m, n, "Linux version ")) return Q(Q_KERNEL_BOOT);
    uint8_t pri = x->ev->priority;
    if (pri <= 3) return Q(Q_KERNEL_ERR);
    if (pri == 4) return Q(Q_KERNEL_WARN);
    return Q(Q_KERNEL_INFO);
}

/* ---------------------------------------------------------------- auditd */

struct aud_type {
    const char *name;
    uint16_t ok, fail; /* fail 0: same as ok */
};

/* Sorted by name (strcmp); numeric types from the kernel are in the same table. */
static const struct aud_type aud_types[] = {
    {"1100", Q_AUD_AUTH_OK, Q_AUD_AUTH_FAIL},
    {"1107", Q_AUD_AVC, 0},
    {"1112", Q_AUD_LOGIN_OK, Q_AUD_LOGIN_FAIL},
    {"1300", Q_AUD_SYSCALL, 0},
    {"1309", Q_AUD_EXECVE, 0},
    {"1400", Q_AUD_AVC, 0},
    {"ACCT_LOCK", Q_AUD_USER_MGMT, 0},
    {"ACCT_UNLOCK", Q_AUD_USER_MGMT, 0},
    {"ADD_GROUP", Q_AUD_GROUP_ADD, 0},
    {"ADD_USER", Q_AUD_USER_ADD, 0},
    {"ANOM_ABEND", Q_AUD_ANOM, 0},
    {"ANOM_LOGIN_FAILURES", Q_AUD_ANOM, 0},
    {"ANOM_PROMISCUOUS", Q_AUD_ANOM, 0},
    {"AVC", Q_AUD_AVC, 0},
    {"CONFIG_CHANGE", Q_AUD_CONFIG, 0},
    {"DAEMON_ABORT", Q_AUD_DAEMON, 0},
    {"DAEMON_END", Q_AUD_DAEMON, 0},
    {"DAEMON_START", Q_AUD_DAEMON, 0},
    {"DEL_GROUP", Q_AUD_GROUP_DEL, 0},
    {"DEL_USER", Q_AUD_USER_DEL, 0},
    {"EXECVE", Q_AUD_EXECVE, 0},
    {"GRP_MGMT", Q_AUD_USER_MGMT, 0},
    {"SERVICE_START", Q_AUD_SVC_START, 0},
    {"SERVICE_STOP", Q_AUD_SVC_STOP, 0},
    {"SYSCALL", Q_AUD_SYSCALL, 0},
    {"USER_AUTH", Q_AUD_AUTH_OK, Q_AUD_AUTH_FAIL},
    {"USER_AVC", Q_AUD_AVC, 0},
    {"USER_CHAUTHTOK", Q_AUD_CHAUTHTOK, 0},
    {"USER_CMD", Q_AUD_USER_CMD, 0},
    {"USER_END", Q_AUD_USER_END, 0},
    {"USER_LOGIN", Q_AUD_LOGIN_OK, Q_AUD_LOGIN_FAIL},
    {"USER_MGMT", Q_AUD_USER_MGMT, 0},
    {"USER_START", Q_AUD_USER_START, 0},
};

/* "[node=N ]type=T msg=audit(sec.ms:serial): k=v ... [msg='k=v ... res=success']" */
static uint32_t lx_audit(struct lx *x)
{
    const char *m = x->m, *e = m + x->n, *v;
    size_t n = x->n, vn;
    if (pfx(m, n, "node=")) {
        size_t w = word_len(m, n);
        lx_prop(x, "node", m + 5, w - 5);
        m += w;
        while (m < e && *m == ' ')
            m++;
        n = (size_t)(e - m);
    }
    if (!lx_kv(m, n < 64 ? n : 64, "type=", &v, &vn)) return Q(Q_AUD_MSG);
    lx_prop(x, "audit_type", v, vn);
    const struct aud_type *t = NULL;
    size_t lo = 0, hi = N(aud_types);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = lx_cmp(v, vn, aud_types[mid].name);
        if (c == 0) {
            t = &aud_types[mid];
            break;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    uint16_t qn = Q_AUD_MSG;
    if (t) {
        qn = t->ok;
        if (t->fail && lx_kv(m, n, "res=", &v, &vn) && (pfx(v, vn, "fail") || pfx(v, vn, "no")))
            qn = t->fail;
    } else if (pfx(v, vn, "ANOM_")) {
        qn = Q_AUD_ANOM;
    }
    const char *sv;
    size_t svn;
    if (lx_kv(m, n, "acct=", &sv, &svn) && svn && !(svn == 1 && sv[0] == '?'))
        lx_user(x, sv, svn);
    else if (lx_kv(m, n, "id=", &sv, &svn) && svn && qn != Q_AUD_MSG)
        lx_prop(x, "id", sv, svn);
    if (lx_kv(m, n, "addr=", &sv, &svn) && svn && sv[0] != '?')
        dsm_set_ip(&x->ev->sourceip, sv, svn);
    if (lx_kv(m, n, "exe=", &sv, &svn)) lx_prop(x, "exe", sv, svn);
    if (lx_kv(m, n, "auid=", &sv, &svn)) lx_prop(x, "auid", sv, svn);
    if (qn == Q_AUD_AVC && !has(m, n, "denied") && !has(m, n, "DENIED")) qn = Q_AUD_MSG;
    return Q(qn);
}

/* ---------------------------------------------------------------- other daemons */

static uint32_t lx_ftp(struct lx *x)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    /* wu-ftpd/BSD ftpd: "connection from IP (host) at date", "ANONYMOUS FTP LOGIN FROM IP,
     * (anonymous)", "FTP LOGIN FROM host [IP], user", "FTP LOGIN FAILED FROM host, user",
     * "User unknown timed out after N seconds at ..." */
    if (pfx(m, n, "connection from ")) {
        lx_srcip(x, m + 16, word_len(m + 16, n - 16), "rhost");
        const char *o = memchr(m + 16, '(', n - 16);
        if (o) {
            const char *c = memchr(o, ')', (size_t)(e - o));
            if (c) lx_prop(x, "rhost", o + 1, (size_t)(c - o - 1));
        }
        return Q(Q_FTP_CONNECT);
    }
    if (pfx(m, n, "ANONYMOUS FTP LOGIN FROM ")) {
        lx_srcip(x, m + 25, word_len(m + 25, n - 25), "rhost");
        lx_user(x, "anonymous", 9);
        return Q(Q_FTP_LOGIN_OK);
    }
    if (pfx(m, n, "FTP LOGIN FROM ") || pfx(m, n, "FTP LOGIN FAILED FROM ")) {
        bool ok = !pfx(m, n, "FTP LOGIN FAILED");
        const char *c = find(m, n, ", ");
        if (c) lx_user(x, c + 2, word_len(c + 2, (size_t)(e - c - 2)));
        const char *b = memchr(m, '[', n);
        if (b) {
            const char *be = memchr(b, ']', (size_t)(e - b));
            if (be) lx_srcip(x, b + 1, (size_t)(be - b - 1), NULL);
        } else {
            size_t o = ok ? 15 : 22;
            lx_srcip(x, m + o, word_len(m + o, n - o), "rhost");
        }
        return ok ? Q(Q_FTP_LOGIN_OK) : Q(Q_FTP_LOGIN_FAIL);
    }
    if (pfx(m, n, "User ") && has(m, n, " timed out after ")) {
        size_t un = word_len(m + 5, n - 5);
        if (!(un == 7 && memcmp(m + 5, "unknown", 7) == 0)) lx_user(x, m + 5, un);
        return Q(Q_FTP_TIMEOUT);
    }
    return Q(Q_FTP_MSG);
}

/* vsftpd: "[pid N] [user] OK LOGIN: Client "IP"", "FAIL LOGIN", "CONNECT: Client "IP"",
 * "OK UPLOAD: Client "IP", "/file", N bytes". */
static uint32_t lx_vsftpd(struct lx *x)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    const char *p = m;
    if (pfx(p, n, "[pid ")) {
        const char *c = memchr(p, ']', n);
        if (!c) return Q(Q_FTP_MSG);
        p = c + 1;
        while (p < e && *p == ' ')
            p++;
    }
    if (p < e && *p == '[') {
        const char *c = memchr(p, ']', (size_t)(e - p));
        if (c) {
            lx_user(x, p + 1, (size_t)(c - p - 1));
            p = c + 1;
            while (p < e && *p == ' ')
                p++;
        }
    }
    const char *cl = find(p, (size_t)(e - p), "Client \"");
    if (cl) {
        const char *a = cl + 8;
        const char *qe = memchr(a, '"', (size_t)(e - a));
        if (qe) lx_srcip(x, a, (size_t)(qe - a), "rhost");
    }
    size_t pn = (size_t)(e - p);
    if (pfx(p, pn, "OK LOGIN")) return Q(Q_FTP_LOGIN_OK);
    if (pfx(p, pn, "FAIL LOGIN")) return Q(Q_FTP_LOGIN_FAIL);
    if (pfx(p, pn, "CONNECT")) return Q(Q_FTP_CONNECT);
    if (pfx(p, pn, "OK UPLOAD") || pfx(p, pn, "OK DOWNLOAD")) return Q(Q_FTP_TRANSFER);
    return Q(Q_FTP_MSG);
}

static uint32_t lx_simple(struct lx *x, uint8_t fam)
{
    const char *m = x->m, *e = m + x->n;
    size_t n = x->n;
    uint32_t q;
    if (lx_pam_prefixed(x, &q)) return q;
    switch (fam) {
    case F_PAM:
        return lx_pam_text(x, m, n);
    case F_KRB:
        if (pfx(m, n, "Authentication failed from ")) {
            lx_srcip(x, m + 27, word_len(m + 27, n - 27), "rhost");
            return Q(Q_KRB_LOGIN_FAIL);
        }
        if (pfx(m, n, "Kerberos authentication failed")) return Q(Q_KRB_LOGIN_FAIL);
        return Q(Q_KRB_MSG);
    case F_DM:
        if (pfx(m, n, "Couldn't authenticate user") || has(m, n, "authentication failure"))
            return Q(Q_LOGIN_FAIL);
        return Q(Q_DM_MSG);
    case F_POLKIT:
        if (pfx(m, n, "Operator of ") && has(m, n, "FAILED to authenticate"))
            return Q(Q_POLKIT_AUTH_FAIL);
        if (has(m, n, "Unregistered Authentication Agent") ||
            has(m, n, "Registered Authentication Agent"))
            return Q(Q_POLKIT_MSG);
        return Q(Q_POLKIT_MSG);
    case F_DBUS:
        return Q(Q_DBUS_MSG);
    case F_NET:
        if (has(m, n, "DHCPACK") || has(m, n, "bound to ")) return Q(Q_DHCP_LEASE);
        return Q(Q_NET_MSG);
    case F_DHCP:
        if (pfx(m, n, "DHCPACK ") || pfx(m, n, "bound to ")) {
            const char *f = find(m, n, " from ");
            if (f) {
                const char *s = f + 6;
                size_t sl = word_len(s, (size_t)(e - s));
                dsm_set_ip(&x->ev->destinationip, s, sl);
            }
            return Q(Q_DHCP_LEASE);
        }
        return Q(Q_NET_MSG);
    case F_TIME:
        return Q(Q_TIME_MSG);
    case F_SYSLOG:
        return Q(Q_SYSLOG_MSG);
    case F_LOGROTATE:
        return Q(Q_LOGROTATE_MSG);
    case F_CUPS:
        return lx_init_text(m, n, Q(Q_CUPS_MSG));
    case F_XINETD:
        if (pfx(m, n, "START: ")) {
            const char *v;
            size_t vn;
            if (lx_kv(m, n, "from=", &v, &vn)) {
                if (pfx(v, vn, "::ffff:")) v += 7, vn -= 7;
                lx_srcip(x, v, vn, "rhost");
            }
            lx_prop(x, "service", m + 7, word_len(m + 7, n - 7));
            return Q(Q_XINETD_START);
        }
        return Q(Q_XINETD_MSG);
    case F_UDEV:
        return Q(Q_UDEV_MSG);
    case F_INIT:
        return lx_init_text(m, n, Q(Q_DAEMON_MSG));
    default:
        return lx_init_text(m, n, Q(Q_DAEMON_MSG));
    }
}

/* ---------------------------------------------------------------- entry */

/*
 * Lines without a usable TAG: sysklogd's "syslogd 1.4.1: restart." and login's
 * "-- root[2421]: ROOT LOGIN ON tty2" (its ident is "-- user"). Returns the family and
 * moves *m to the text.
 */
static uint8_t lx_untagged(const char **m, size_t *n)
{
    const char *p = *m, *e = p + *n;
    if (pfx(p, *n, "syslogd ") || pfx(p, *n, "klogd ")) {
        const char *v = memchr(p, ' ', *n) + 1;
        size_t i = 0;
        while (v + i < e && ((v[i] >= '0' && v[i] <= '9') || v[i] == '.'))
            i++;
        if (i == 0 || v + i + 1 >= e || v[i] != ':' || v[i + 1] != ' ') return F_NONE;
        *m = v + i + 2;
        *n = (size_t)(e - *m);
        return F_SYSLOG;
    }
    if (pfx(p, *n, "-- ")) {
        const char *c = find(p, *n < 64 ? *n : 64, ": ");
        const char *b = memchr(p, '[', *n < 64 ? *n : 64);
        if (!c || (b && b > c)) return F_NONE;
        *m = c + 2;
        *n = (size_t)(e - *m);
        return F_LOGIN;
    }
    return F_NONE;
}

/*
 * Other systems reuse Linux program names: Junos writes "sshd[1]: SSHD_LOGIN_FAILED: ..." and
 * "login[2]: LOGIN_FAILED: ..." (an upper-case event tag with an underscore opens the text),
 * and OPNsense/pfSense log their web GUI under the tag "audit". Those lines are left to their
 * DSMs; the kernel is exempt from the tag rule because netfilter prefixes look alike
 * ("IPTABLES_DROP: IN=...").
 */
static bool lx_text_is_linux(uint8_t fam, const char *a, size_t an, const char *m, size_t n)
{
    if (!m) return true;
    if (fam == F_AUDIT && an == 5 && memcmp(a, "audit", 5) == 0)
        return pfx(m, n, "type=") || pfx(m, n, "node=");
    if (fam == F_KERNEL || n < 4 || m[0] < 'A' || m[0] > 'Z') return true;
    bool underscore = false;
    for (size_t i = 1; i < n && i < 64; i++) {
        char c = m[i];
        if (c == ':') return !underscore;
        if (c == '_')
            underscore = true;
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return true;
    }
    return true;
}

static bool linux_parse(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx)
{
    const char *a = ev->appname.p;
    size_t an = ev->appname.len;
    const char *m = ev->message.p ? ev->message.p : "";
    size_t n = ev->message.p ? ev->message.len : 0;
    uint8_t fam;
    bool paren_pam = false;
    if (an) {
        if (an > 48 || !a) return false;
        /* "service(module)": old Linux-PAM ident, e.g. "sshd(pam_unix)" */
        const char *o = memchr(a, '(', an);
        if (o) {
            if (a[an - 1] != ')' || o == a) return false;
            if (!pfx(o + 1, (size_t)(a + an - o - 1), "pam_")) return false;
            fam = lx_family(a, (size_t)(o - a));
            if (fam == F_NONE) {
                /* any service may speak through PAM; the module names it Linux */
                fam = F_PAM;
            }
            paren_pam = true;
        } else {
            fam = lx_family(a, an);
        }
        if (fam == F_NONE) return false;
        if (!lx_text_is_linux(fam, a, an, m, n)) return false;
    } else {
        if (!m || (ev->flags & STRM_EV_UNPARSED)) return false;
        fam = lx_untagged(&m, &n);
        if (fam == F_NONE) return false;
    }

    struct lx x;
    x.ev = ev;
    x.ctx = ctx;
    x.m = m ? m : "";
    x.n = n;
    x.props = false;
    uint32_t qid;
    if (paren_pam) {
        const char *o = memchr(a, '(', an);
        lx_prop(&x, "service", a, (size_t)(o - a));
        lx_prop(&x, "pam_module", o + 1, (size_t)(a + an - o - 2));
        qid = lx_pam_text(&x, x.m, x.n);
    } else {
        switch (fam) {
        case F_SSH:
            qid = lx_ssh(&x);
            break;
        case F_SU:
            qid = lx_su(&x);
            break;
        case F_SUDO:
            qid = lx_sudo(&x);
            break;
        case F_LOGIN:
            qid = lx_login(&x);
            break;
        case F_ACCOUNT:
            qid = lx_account(&x);
            break;
        case F_CRON:
            qid = lx_cron(&x);
            break;
        case F_SYSTEMD:
            qid = lx_systemd(&x, false);
            break;
        case F_LOGIND:
            qid = lx_systemd(&x, true);
            break;
        case F_KERNEL:
            qid = lx_kernel(&x);
            break;
        case F_AUDIT:
            qid = lx_audit(&x);
            break;
        case F_FTP:
            qid = lx_ftp(&x);
            break;
        case F_VSFTPD:
            qid = lx_vsftpd(&x);
            break;
        default:
            qid = lx_simple(&x, fam);
            break;
        }
    }
    dsm_set_qid(ev, qid);
    if (x.props) dsm_props_commit(&x.pr, ev, arena);
    ev->devicetype = T;
    return true;
}

const struct dsm_def dsm_linux = {
    .name = "linux",
    .display = "Linux OS",
    .type_id = T,
    .qids = linux_qids,
    .n_qids = N(linux_qids),
    .init = NULL,
    .parse = linux_parse,
};
