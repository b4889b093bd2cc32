/*
 * dsm_windows.c - Microsoft Windows Security Event Log as forwarders send it over syslog.
 *
 * Three wire shapes carry the same events:
 *   - Snare: "MSWinEventLog<D>criticality<D>logname<D>counter<D>Www Mmm dd hh:mm:ss yyyy<D>
 *     eventid<D>source<D>user<D>sidtype<D>Success Audit|Failure Audit<D>computer<D>category
 *     <D>datastring<D>expanded<D>[counter]", D being TAB unless configured otherwise (the
 *     byte after "MSWinEventLog" says which). Either after a syslog header (the message
 *     starts with it) or bare with the hostname first ("host<D>MSWinEventLog<D>...").
 *   - WinCollect-style key=value: "AgentDevice=WindowsLog<TAB>AgentLogFile=Security<TAB>
 *     Source=...<TAB>Computer=...<TAB>EventID=4625<TAB>...<TAB>Message=<rendered text>",
 *     Message last and running to the end of the line.
 *   - NXLog: its event record as JSON ({"EventID":4625,"TargetUserName":"bob",...}) or as
 *     key=value pairs (EventID=4625 TargetUserName=bob ...), named by the EventData fields
 *     (TargetUserName, IpAddress, LogonType, NewProcessName, ...).
 * The rendered message text of Snare and WinCollect ("An account failed to log on.  Subject:
 *   Security ID:  S-1-0-0  Account Name:  -  ...") is read as "Label:  value" pairs,
 * separated by TAB, CR, LF or runs of two or more spaces; a label without value opens a
 * section ("Subject:", "New Logon:", "Account For Which Logon Failed:", "Member:"), which
 * tells whose "Account Name" follows: the subject (actor), a member, or the target.
 *
 * All three fill one struct win of slices; win_finish then maps the event id (and logon type,
 * success/failure) to a QID and sets the event's fields. username is the target account
 * (TargetUserName / the non-subject "Account Name"), or the subject for events whose actor is
 * the point (process creation, special privileges, policy change, log cleared, share access,
 * task/service creation); the other account goes into a property. The Computer field replaces
 * the syslog hostname (the header may carry a relay's name); the client's WorkstationName is a
 * property. Addresses "-" and empty are skipped; "::ffff:a.b.c.d" becomes IPv4.
 *
 * Reject path (this DSM runs second for every line): a fixed prefix test, or a bounded search
 * of the first bytes for "MSWinEventLog"; JSON and key=value shapes are tried only when the
 * line starts with '{' or carries "EventID=" near its start.
 *
 * Invariants: reads bounded by ev->message; strings point into the message or the arena
 * (unescaped JSON strings); no allocation outside the arena; false leaves ev untouched.
 */
#include "dsm/dsm.h"

#include <string.h>

#define T DSM_T_WINDOWS

enum {
    Q_LOGON = 1,
    Q_LOGON_INTERACTIVE,
    Q_LOGON_NETWORK,
    Q_LOGON_REMOTE,
    Q_LOGON_SERVICE,
    Q_LOGON_FAIL,
    Q_LOGON_FAIL_NETWORK,
    Q_LOGON_FAIL_REMOTE,
    Q_LOGOFF,
    Q_EXPLICIT_CREDS,
    Q_SPECIAL_PRIVS,
    Q_PROC_CREATED,
    Q_PROC_EXITED,
    Q_SERVICE_INSTALLED,
    Q_TASK_CREATED,
    Q_TASK_CHANGED,
    Q_AUDIT_POLICY,
    Q_USER_CREATED,
    Q_USER_ENABLED,
    Q_USER_DISABLED,
    Q_PASSWORD_CHANGE,
    Q_PASSWORD_RESET,
    Q_USER_DELETED,
    Q_GROUP_MEMBER_ADDED,
    Q_GROUP_MEMBER_REMOVED,
    Q_USER_CHANGED,
    Q_LOCKED_OUT,
    Q_UNLOCKED,
    Q_KRB_TGT,
    Q_KRB_TGT_FAIL,
    Q_KRB_ST,
    Q_KRB_ST_FAIL,
    Q_KRB_PREAUTH_FAIL,
    Q_NTLM_OK,
    Q_NTLM_FAIL,
    Q_LOG_CLEARED,
    Q_REGISTRY_MODIFIED,
    Q_SHARE_ACCESS,
    Q_SHARE_OBJECT,
    Q_SHARE_DENIED,
    Q_WFP_PERMIT,
    Q_WFP_BLOCK,
    Q_GROUP_CREATED,
    Q_GROUP_DELETED,
    Q_GROUP_CHANGED,
    Q_SESSION_RECONNECT,
    Q_SESSION_DISCONNECT,
    Q_FW_RULE_CHANGED,
    Q_TIME_CHANGED,
    Q_OBJECT_ACCESS,
    Q_PASSWORD_CHANGE_FAIL,
    Q_LOG_SERVICE_SHUTDOWN,
    Q_RIGHT_ASSIGNED,
    Q_RIGHT_REMOVED,
    Q_DOMAIN_POLICY,
    Q_SYSTEM_STARTUP,
    Q_SYSTEM_SHUTDOWN,
    Q_REPLAY,
    Q_DS_OBJECT_MODIFIED,
    Q_SID_HISTORY,
    Q_COMPUTER_ACCOUNT,
    Q_SCREEN_LOCK,
    Q_SCREEN_UNLOCK,
};

#define Q(n) DSM_QID(T, n)

static const struct qid_def win_qids[] = {
    {Q(Q_LOGON), "Windows Logon Succeeded",
     "An account was successfully logged on (4624, other logon types)", LLC_HOST_LOGIN_SUCCEEDED,
     2},
    {Q(Q_LOGON_INTERACTIVE), "Windows Interactive Logon Succeeded",
     "4624 with logon type 2, 7 or 11 (console, unlock, cached)", LLC_HOST_LOGIN_SUCCEEDED, 3},
    {Q(Q_LOGON_NETWORK), "Windows Network Logon Succeeded",
     "4624 with logon type 3 or 8 (network, network cleartext)", LLC_HOST_LOGIN_SUCCEEDED, 2},
    {Q(Q_LOGON_REMOTE), "Windows Remote Interactive Logon Succeeded",
     "4624 with logon type 10 (Remote Desktop)", LLC_REMOTE_ACCESS_LOGIN_SUCCEEDED, 4},
    {Q(Q_LOGON_SERVICE), "Windows Service Or Batch Logon Succeeded",
     "4624 with logon type 4 or 5 (batch, service)", LLC_MISC_LOGIN_SUCCEEDED, 1},
    {Q(Q_LOGON_FAIL), "Windows Logon Failed", "An account failed to log on (4625)",
     LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_LOGON_FAIL_NETWORK), "Windows Network Logon Failed", "4625 with logon type 3 or 8",
     LLC_HOST_LOGIN_FAILED, 5},
    {Q(Q_LOGON_FAIL_REMOTE), "Windows Remote Interactive Logon Failed",
     "4625 with logon type 10 (Remote Desktop)", LLC_REMOTE_ACCESS_LOGIN_FAILED, 6},
    {Q(Q_LOGOFF), "Windows Logoff", "An account was logged off (4634, 4647)", LLC_HOST_LOGOUT, 1},
    {Q(Q_EXPLICIT_CREDS), "Windows Logon With Explicit Credentials",
     "A logon was attempted using explicit credentials (4648)", LLC_GENERAL_AUTH_SUCCEEDED, 3},
    {Q(Q_SPECIAL_PRIVS), "Windows Special Privileges Assigned",
     "Special privileges assigned to new logon (4672)", LLC_ADMIN_LOGIN_SUCCEEDED, 3},
    {Q(Q_PROC_CREATED), "Windows Process Created", "A new process has been created (4688)",
     LLC_PROCESS_CREATED, 1},
    {Q(Q_PROC_EXITED), "Windows Process Exited", "A process has exited (4689)",
     LLC_PROCESS_TERMINATED, 1},
    {Q(Q_SERVICE_INSTALLED), "Windows Service Installed",
     "A service was installed in the system (4697, 7045)", LLC_SOFTWARE_INSTALLED, 6},
    {Q(Q_TASK_CREATED), "Windows Scheduled Task Created", "A scheduled task was created (4698)",
     LLC_SCHEDULED_TASK, 5},
    {Q(Q_TASK_CHANGED), "Windows Scheduled Task Changed",
     "A scheduled task was deleted, enabled, disabled or updated (4699-4702)", LLC_SCHEDULED_TASK,
     4},
    {Q(Q_AUDIT_POLICY), "Windows Audit Policy Changed", "System audit policy was changed (4719)",
     LLC_POLICY_CHANGE, 7},
    {Q(Q_USER_CREATED), "Windows User Account Created", "A user account was created (4720)",
     LLC_USER_ACCOUNT_ADDED, 5},
    {Q(Q_USER_ENABLED), "Windows User Account Enabled", "A user account was enabled (4722)",
     LLC_USER_ACCOUNT_CHANGED, 4},
    {Q(Q_USER_DISABLED), "Windows User Account Disabled", "A user account was disabled (4725)",
     LLC_USER_ACCOUNT_CHANGED, 4},
    {Q(Q_PASSWORD_CHANGE), "Windows Password Changed",
     "An attempt was made to change an account's password (4723)", LLC_PASSWORD_CHANGE_SUCCEEDED,
     3},
    {Q(Q_PASSWORD_RESET), "Windows Password Reset",
     "An attempt was made to reset an account's password (4724)", LLC_PASSWORD_CHANGE_SUCCEEDED, 4},
    {Q(Q_USER_DELETED), "Windows User Account Deleted", "A user account was deleted (4726)",
     LLC_USER_ACCOUNT_REMOVED, 5},
    {Q(Q_GROUP_MEMBER_ADDED), "Windows Member Added To Security Group",
     "A member was added to a security-enabled global, local or universal group (4728, 4732, 4756)",
     LLC_GROUP_MEMBER_ADDED, 6},
    {Q(Q_GROUP_MEMBER_REMOVED), "Windows Member Removed From Security Group",
     "A member was removed from a security-enabled group (4729, 4733, 4757)",
     LLC_GROUP_MEMBER_REMOVED, 4},
    {Q(Q_USER_CHANGED), "Windows User Account Changed",
     "A user account was changed or renamed (4738, 4781)", LLC_USER_ACCOUNT_CHANGED, 3},
    {Q(Q_LOCKED_OUT), "Windows User Account Locked Out", "A user account was locked out (4740)",
     LLC_USER_ACCOUNT_LOCKED, 6},
    {Q(Q_UNLOCKED), "Windows User Account Unlocked", "A user account was unlocked (4767)",
     LLC_USER_ACCOUNT_UNLOCKED, 3},
    {Q(Q_KRB_TGT), "Windows Kerberos TGT Granted",
     "A Kerberos authentication ticket (TGT) was requested and granted (4768)",
     LLC_AUTH_SERVER_LOGIN_SUCCEEDED, 1},
    {Q(Q_KRB_TGT_FAIL), "Windows Kerberos TGT Request Failed",
     "A Kerberos TGT request failed (4768 with a non-zero result code)",
     LLC_AUTH_SERVER_LOGIN_FAILED, 5},
    {Q(Q_KRB_ST), "Windows Kerberos Service Ticket Granted",
     "A Kerberos service ticket was requested (4769)", LLC_AUTH_SERVER_LOGIN_SUCCEEDED, 1},
    {Q(Q_KRB_ST_FAIL), "Windows Kerberos Service Ticket Request Failed",
     "A Kerberos service ticket request failed (4769 with a non-zero result code)",
     LLC_AUTH_SERVER_LOGIN_FAILED, 5},
    {Q(Q_KRB_PREAUTH_FAIL), "Windows Kerberos Pre-authentication Failed",
     "Kerberos pre-authentication failed (4771)", LLC_AUTH_SERVER_LOGIN_FAILED, 5},
    {Q(Q_NTLM_OK), "Windows NTLM Credential Validation Succeeded",
     "The domain controller validated the credentials for an account (4776)",
     LLC_AUTH_SERVER_LOGIN_SUCCEEDED, 1},
    {Q(Q_NTLM_FAIL), "Windows NTLM Credential Validation Failed",
     "The domain controller failed to validate the credentials for an account (4776)",
     LLC_AUTH_SERVER_LOGIN_FAILED, 5},
    {Q(Q_LOG_CLEARED), "Windows Audit Log Cleared", "The audit log was cleared (1102, 517)",
     LLC_AUDIT_CONFIG_CHANGE, 8},
    {Q(Q_REGISTRY_MODIFIED), "Windows Registry Value Modified",
     "A registry value was modified (4657)", LLC_CONFIG_MODIFIED, 3},
    {Q(Q_SHARE_ACCESS), "Windows Network Share Accessed",
     "A network share object was accessed (5140)", LLC_ACCESS_PERMITTED, 2},
    {Q(Q_SHARE_OBJECT), "Windows Network Share Object Checked",
     "A network share object was checked for access (5145)", LLC_ACCESS_PERMITTED, 1},
    {Q(Q_SHARE_DENIED), "Windows Network Share Access Denied",
     "Access to a network share object was denied (5140/5145 failure)", LLC_ACCESS_DENIED, 4},
    {Q(Q_WFP_PERMIT), "Windows Filtering Platform Connection Permitted",
     "The Windows Filtering Platform permitted a connection (5156)", LLC_FIREWALL_PERMIT, 1},
    {Q(Q_WFP_BLOCK), "Windows Filtering Platform Connection Blocked",
     "The Windows Filtering Platform blocked a connection or packet (5157, 5152)",
     LLC_FIREWALL_DENY, 4},
    {Q(Q_GROUP_CREATED), "Windows Security Group Created",
     "A security-enabled group was created (4727, 4731, 4754)", LLC_GROUP_ADDED, 4},
    {Q(Q_GROUP_DELETED), "Windows Security Group Deleted",
     "A security-enabled group was deleted (4730, 4734, 4758)", LLC_GROUP_REMOVED, 4},
    {Q(Q_GROUP_CHANGED), "Windows Security Group Changed",
     "A security-enabled group was changed (4735, 4737, 4755)", LLC_GROUP_CHANGED, 4},
    {Q(Q_SESSION_RECONNECT), "Windows Session Reconnected",
     "A session was reconnected to a Window Station (4778)", LLC_SESSION_OPENED, 2},
    {Q(Q_SESSION_DISCONNECT), "Windows Session Disconnected",
     "A session was disconnected from a Window Station (4779)", LLC_SESSION_CLOSED, 1},
    {Q(Q_FW_RULE_CHANGED), "Windows Firewall Rule Changed",
     "A Windows Firewall exception list rule was added, modified or deleted (4946-4948)",
     LLC_CONFIG_MODIFIED, 5},
    {Q(Q_TIME_CHANGED), "Windows System Time Changed", "The system time was changed (4616)",
     LLC_SYSTEM_CONFIGURATION, 4},
    {Q(Q_OBJECT_ACCESS), "Windows Object Access",
     "A handle to an object was requested or an object was accessed (4656, 4663)",
     LLC_ACCESS_PERMITTED, 1},
    {Q(Q_PASSWORD_CHANGE_FAIL), "Windows Password Change Failed",
     "A password change or reset attempt failed (4723/4724 failure)", LLC_PASSWORD_CHANGE_FAILED,
     4},
    {Q(Q_LOG_SERVICE_SHUTDOWN), "Windows Event Logging Service Shut Down",
     "The event logging service has shut down (1100)", LLC_SERVICE_STOPPED, 6},
    {Q(Q_RIGHT_ASSIGNED), "Windows User Right Assigned", "A user right was assigned (4704)",
     LLC_USER_RIGHT_ASSIGNED, 5},
    {Q(Q_RIGHT_REMOVED), "Windows User Right Removed", "A user right was removed (4705)",
     LLC_USER_RIGHT_REMOVED, 4},
    {Q(Q_DOMAIN_POLICY), "Windows Domain Policy Changed", "Domain policy was changed (4739)",
     LLC_POLICY_CHANGE, 6},
    {Q(Q_SYSTEM_STARTUP), "Windows System Startup", "Windows is starting up (4608)",
     LLC_SYSTEM_BOOT, 3},
    {Q(Q_SYSTEM_SHUTDOWN), "Windows System Shutdown", "Windows is shutting down (4609)",
     LLC_SYSTEM_HALT, 4},
    {Q(Q_REPLAY), "Windows Replay Attack Detected", "A Kerberos replay attack was detected (4649)",
     LLC_SUSPICIOUS_ACTIVITY, 8},
    {Q(Q_DS_OBJECT_MODIFIED), "Windows Directory Service Object Modified",
     "A directory service object was modified (5136)", LLC_CONFIG_MODIFIED, 3},
    {Q(Q_SID_HISTORY), "Windows SID History Added",
     "SID History was added to an account (4765, 4766)", LLC_SUSPICIOUS_ACTIVITY, 8},
    {Q(Q_COMPUTER_ACCOUNT), "Windows Computer Account Changed",
     "A computer account was created, changed or deleted (4741-4743)", LLC_USER_ACCOUNT_CHANGED, 3},
    {Q(Q_SCREEN_LOCK), "Windows Workstation Locked", "The workstation was locked (4800)",
     LLC_MISC_SYSTEM, 1},
    {Q(Q_SCREEN_UNLOCK), "Windows Workstation Unlocked", "The workstation was unlocked (4801)",
     LLC_MISC_SYSTEM, 1},
    {DSM_QID_UNKNOWN(T), "Microsoft Windows Security Event Log Unknown Event",
     "A Windows event this DSM does not map", LLC_UNKNOWN, 3},
};

/* Sorted by event_id (strcmp); all ids have the same width within a length class. */
static const struct dsm_qid_map win_map[] = {
    {"1100", Q(Q_LOG_SERVICE_SHUTDOWN)},
    {"1102", Q(Q_LOG_CLEARED)},
    {"4608", Q(Q_SYSTEM_STARTUP)},
    {"4609", Q(Q_SYSTEM_SHUTDOWN)},
    {"4616", Q(Q_TIME_CHANGED)},
    {"4624", Q(Q_LOGON)},
    {"4625", Q(Q_LOGON_FAIL)},
    {"4634", Q(Q_LOGOFF)},
    {"4647", Q(Q_LOGOFF)},
    {"4648", Q(Q_EXPLICIT_CREDS)},
    {"4649", Q(Q_REPLAY)},
    {"4656", Q(Q_OBJECT_ACCESS)},
    {"4657", Q(Q_REGISTRY_MODIFIED)},
    {"4663", Q(Q_OBJECT_ACCESS)},
    {"4672", Q(Q_SPECIAL_PRIVS)},
    {"4688", Q(Q_PROC_CREATED)},
    {"4689", Q(Q_PROC_EXITED)},
    {"4697", Q(Q_SERVICE_INSTALLED)},
    {"4698", Q(Q_TASK_CREATED)},
    {"4699", Q(Q_TASK_CHANGED)},
    {"4700", Q(Q_TASK_CHANGED)},
    {"4701", Q(Q_TASK_CHANGED)},
    {"4702", Q(Q_TASK_CHANGED)},
    {"4704", Q(Q_RIGHT_ASSIGNED)},
    {"4705", Q(Q_RIGHT_REMOVED)},
    {"4719", Q(Q_AUDIT_POLICY)},
    {"4720", Q(Q_USER_CREATED)},
    {"4722", Q(Q_USER_ENABLED)},
    {"4723", Q(Q_PASSWORD_CHANGE)},
    {"4724", Q(Q_PASSWORD_RESET)},
    {"4725", Q(Q_USER_DISABLED)},
    {"4726", Q(Q_USER_DELETED)},
    {"4727", Q(Q_GROUP_CREATED)},
    {"4728", Q(Q_GROUP_MEMBER_ADDED)},
    {"4729", Q(Q_GROUP_MEMBER_REMOVED)},
    {"4730", Q(Q_GROUP_DELETED)},
    {"4731", Q(Q_GROUP_CREATED)},
    {"4732", Q(Q_GROUP_MEMBER_ADDED)},
    {"4733", Q(Q_GROUP_MEMBER_REMOVED)},
    {"4734", Q(Q_GROUP_DELETED)},
    {"4735", Q(Q_GROUP_CHANGED)},
    {"4737", Q(Q_GROUP_CHANGED)},
    {"4738", Q(Q_USER_CHANGED)},
    {"4739", Q(Q_DOMAIN_POLICY)},
    {"4740", Q(Q_LOCKED_OUT)},
    {"4741", Q(Q_COMPUTER_ACCOUNT)},
    {"4742", Q(Q_COMPUTER_ACCOUNT)},
    {"4743", Q(Q_COMPUTER_ACCOUNT)},
    {"4754", Q(Q_GROUP_CREATED)},
    {"4755", Q(Q_GROUP_CHANGED)},
    {"4756", Q(Q_GROUP_MEMBER_ADDED)},
    {"4757", Q(Q_GROUP_MEMBER_REMOVED)},
    {"4758", Q(Q_GROUP_DELETED)},
    {"4765", Q(Q_SID_HISTORY)},
    {"4766", Q(Q_SID_HISTORY)},
    {"4767", Q(Q_UNLOCKED)},
    {"4768", Q(Q_KRB_TGT)},
    {"4769", Q(Q_KRB_ST)},
    {"4771", Q(Q_KRB_PREAUTH_FAIL)},
    {"4776", Q(Q_NTLM_OK)},
    {"4778", Q(Q_SESSION_RECONNECT)},
    {"4779", Q(Q_SESSION_DISCONNECT)},
    {"4781", Q(Q_USER_CHANGED)},
    {"4800", Q(Q_SCREEN_LOCK)},
    {"4801", Q(Q_SCREEN_UNLOCK)},
    {"4946", Q(Q_FW_RULE_CHANGED)},
    {"4947", Q(Q_FW_RULE_CHANGED)},
    {"4948", Q(Q_FW_RULE_CHANGED)},
    {"5136", Q(Q_DS_OBJECT_MODIFIED)},
    {"5140", Q(Q_SHARE_ACCESS)},
    {"5145", Q(Q_SHARE_OBJECT)},
    {"5152", Q(Q_WFP_BLOCK)},
    {"5156", Q(Q_WFP_PERMIT)},
    {"5157", Q(Q_WFP_BLOCK)},
    {"517", Q(Q_LOG_CLEARED)},
    {"7045", Q(Q_SERVICE_INSTALLED)},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- collected fields */

enum win_field {
    W_NONE,
    W_EVENTID,
    W_COMPUTER,
    W_TARGET_USER,
    W_TARGET_DOMAIN,
    W_SUBJECT_USER,
    W_SUBJECT_DOMAIN,
    W_MEMBER,
    W_IP,
    W_PORT,
    W_LOGON_TYPE,
    W_WORKSTATION,
    W_PROCESS,
    W_NEW_PROCESS,
    W_COMMAND_LINE,
    W_PARENT_PROCESS,
    W_STATUS,
    W_SUBSTATUS,
    W_FAILURE_REASON,
    W_SERVICE_NAME,
    W_SERVICE_FILE,
    W_TASK_NAME,
    W_SHARE_NAME,
    W_SHARE_PATH,
    W_RELATIVE_TARGET,
    W_OBJECT_NAME,
    W_DST_IP,
    W_DST_PORT,
    W_PROTOCOL,
    W_DIRECTION,
    W_APPLICATION,
    W_GROUP,
    W_AUDIT_RESULT, /* "Success Audit", "Audit Failure", "AUDIT_FAILURE", EventType=16 */
    W_TIME_EPOCH,
    W_TIME_TEXT,
    W_CHANNEL,
    W_ACCOUNT_NAME, /* text "Account Name": resolved by section */
    W_ACCOUNT_DOMAIN,
    W_USER_FALLBACK, /* Snare's user column / WinCollect User= */
    W__COUNT
};

struct win {
    struct strm_str f[W__COUNT];
    const char *eid;
    size_t eid_len;
};

static void win_set(struct win *w, int k, const char *v, size_t vn)
{
    if (k == W_NONE || vn == 0) return;
    if (w->f[k].len) return; /* first value wins */
    w->f[k].p = v;
    w->f[k].len = (uint32_t)vn;
}

struct win_key {
    const char *name;
    uint8_t len;
    uint8_t field;
};

#define K(s, f)                                                                                    \
    {                                                                                              \
        s, (uint8_t)(sizeof(s) - 1), f                                                             \
    }

/* NXLog / WinCollect field names, sorted (strcmp). */
static const struct win_key win_keys[] = {
    K("AccountName", W_TARGET_USER),
    K("Application", W_APPLICATION),
    K("CallerProcessName", W_PROCESS),
    K("Channel", W_CHANNEL),
    K("CommandLine", W_COMMAND_LINE),
    K("Computer", W_COMPUTER),
    K("DestAddress", W_DST_IP),
    K("DestPort", W_DST_PORT),
    K("Direction", W_DIRECTION),
    K("EventID", W_EVENTID),
    K("EventIDCode", W_EVENTID),
    K("EventTime", W_TIME_TEXT),
    K("EventType", W_AUDIT_RESULT),
    K("FailureReason", W_FAILURE_REASON),
    K("Hostname", W_COMPUTER),
    K("ImagePath", W_SERVICE_FILE),
    K("IpAddress", W_IP),
    K("IpPort", W_PORT),
    K("Keywords", W_AUDIT_RESULT),
    K("LogonType", W_LOGON_TYPE),
    K("MemberName", W_MEMBER),
    K("NewProcessName", W_NEW_PROCESS),
    K("ObjectName", W_OBJECT_NAME),
    K("ParentProcessName", W_PARENT_PROCESS),
    K("ProcessName", W_PROCESS),
    K("Protocol", W_PROTOCOL),
    K("RelativeTargetName", W_RELATIVE_TARGET),
    K("ServiceFileName", W_SERVICE_FILE),
    K("ServiceName", W_SERVICE_NAME),
    K("ShareLocalPath", W_SHARE_PATH),
    K("ShareName", W_SHARE_NAME),
    K("SourceAddress", W_IP),
    K("SourcePort", W_PORT),
    K("Status", W_STATUS),
    K("SubStatus", W_SUBSTATUS),
    K("SubjectDomainName", W_SUBJECT_DOMAIN),
    K("SubjectUserName", W_SUBJECT_USER),
    K("TargetDomainName", W_TARGET_DOMAIN),
    K("TargetUserName", W_TARGET_USER),
    K("TaskName", W_TASK_NAME),
    K("TimeGenerated", W_TIME_EPOCH),
    K("User", W_USER_FALLBACK),
    K("Workstation", W_WORKSTATION),
    K("WorkstationName", W_WORKSTATION),
};

/* Rendered-message labels (without the colon), sorted (strcmp). */
static const struct win_key win_labels[] = {
    K("Account Domain", W_ACCOUNT_DOMAIN),
    K("Account Name", W_ACCOUNT_NAME),
    K("Application Name", W_APPLICATION),
    K("Client Address", W_IP),
    K("Client Port", W_PORT),
    K("Creator Process Name", W_PARENT_PROCESS),
    K("Destination Address", W_DST_IP),
    K("Destination Port", W_DST_PORT),
    K("Direction", W_DIRECTION),
    K("Error Code", W_STATUS),
    K("Failure Code", W_STATUS),
    K("Failure Reason", W_FAILURE_REASON),
    K("Group Name", W_GROUP),
    K("Logon Account", W_TARGET_USER),
    K("Logon Type", W_LOGON_TYPE),
    K("Network Address", W_IP),
    K("New Process Name", W_NEW_PROCESS),
    K("Object Name", W_OBJECT_NAME),
    K("Port", W_PORT),
    K("Process Command Line", W_COMMAND_LINE),
    K("Process Name", W_PROCESS),
    K("Protocol", W_PROTOCOL),
    K("Relative Target Name", W_RELATIVE_TARGET),
    K("Result Code", W_STATUS),
    K("Service File Name", W_SERVICE_FILE),
    K("Service Name", W_SERVICE_NAME),
    K("Share Name", W_SHARE_NAME),
    K("Share Path", W_SHARE_PATH),
    K("Source Address", W_IP),
    K("Source Network Address", W_IP),
    K("Source Port", W_PORT),
    K("Source Workstation", W_WORKSTATION),
    K("Status", W_STATUS),
    K("Sub Status", W_SUBSTATUS),
    K("Task Name", W_TASK_NAME),
    K("Workstation Name", W_WORKSTATION),
};

static int key_cmp(const char *p, size_t n, const struct win_key *k)
{
    if ((unsigned char)p[0] != (unsigned char)k->name[0])
        return (unsigned char)p[0] < (unsigned char)k->name[0] ? -1 : 1;
    int c = memcmp(p, k->name, n < k->len ? n : k->len);
    if (c) return c;
    return n < k->len ? -1 : n > k->len ? 1 : 0;
}

static int key_find(const struct win_key *t, size_t nt, const char *p, size_t n)
{
    if (n == 0 || n > 40) return W_NONE;
    size_t lo = 0, hi = nt;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = key_cmp(p, n, &t[mid]);
        if (c == 0) return t[mid].field;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return W_NONE;
}

static inline bool pfx(const char *p, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(p, lit, k) == 0;
}

static inline bool eq(const char *p, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(p, lit, n) == 0;
}

/* ---------------------------------------------------------------- rendered message text */

static inline bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Which slot an "Account Name" goes to, by the section it is in. */
enum { SEC_TARGET, SEC_SUBJECT, SEC_MEMBER };

static int section_kind(const char *p, size_t n)
{
    if (eq(p, n, "Subject") || eq(p, n, "Creator Subject")) return SEC_SUBJECT;
    if (eq(p, n, "Member")) return SEC_MEMBER;
    return SEC_TARGET;
}

static void win_label_value(struct win *w, int sec, const char *l, size_t ln, const char *v,
                            size_t vn)
{
    int k = key_find(win_labels, N(win_labels), l, ln);
    if (k == W_ACCOUNT_NAME) {
        if (sec == SEC_SUBJECT)
            k = W_SUBJECT_USER;
        else if (sec == SEC_MEMBER)
            k = W_MEMBER;
        else if (vn == 1 && v[0] == '-')
            return; /* an empty target ("Target Subject" of 4688): keep looking */
        else
            k = W_TARGET_USER;
    } else if (k == W_ACCOUNT_DOMAIN) {
        if (sec == SEC_SUBJECT)
            k = W_SUBJECT_DOMAIN;
        else if (sec == SEC_MEMBER)
            return;
        else
            k = W_TARGET_DOMAIN;
    }
    win_set(w, k, v, vn);
}

/*
 * Splits the rendered text into segments at TAB/CR/LF or two-plus spaces; a segment ending in
 * ':' is a label, the next segment its value; a label followed by another label was a
 * section header. "Label: value" inside one segment (single-spaced renderings) is split too.
 */
static void win_text(struct win *w, const char *p, size_t n)
{
    const char *e = p + n, *s = p;
    const char *label = NULL;
    size_t label_len = 0;
    int sec = SEC_TARGET;
    while (s < e) {
        while (s < e && is_ws(*s))
            s++;
        if (s >= e) break;
        const char *q = s;
        while (q < e) {
            if ((unsigned char)*q > ' ') { /* most bytes: none of the ones below */
                q++;
                continue;
            }
            if (*q == '\t' || *q == '\r' || *q == '\n') break;
            if (*q == ' ' && q + 1 < e && q[1] == ' ') break;
            q++;
        }
        const char *se = q;
        while (se > s && se[-1] == ' ')
            se--;
        size_t sl = (size_t)(se - s);
        if (sl && s[sl - 1] == ':') {
            if (label) sec = section_kind(label, label_len);
            label = s;
            label_len = sl - 1;
        } else if (label) {
            win_label_value(w, sec, label, label_len, s, sl);
            label = NULL;
        } else {
            const char *c = strm_memmem(s, sl, ": ", 2);
            if (c && c > s && (size_t)(c - s) < 40)
                win_label_value(w, sec, s, (size_t)(c - s), c + 2, (size_t)(se - c - 2));
        }
        s = q;
    }
}

/* ---------------------------------------------------------------- Snare */

static const char *const snare_months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9; /* March-based month */
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool num(const char *p, size_t n, unsigned *out)
{
    uint64_t v;
    if (!dsm_parse_uint(p, n, 99999, &v)) return false;
    *out = (unsigned)v;
    return true;
}

/* "Wed Nov 25 10:00:00 2026" (ctime, device-local) -> ms UTC. */
static bool snare_time(const char *p, size_t n, int tz_min, int64_t *ms)
{
    if (n != 24 || p[3] != ' ' || p[7] != ' ' || p[13] != ':' || p[16] != ':' || p[19] != ' ')
        return false;
    unsigned mon = 0, d, hh, mm, ss, y;
    for (unsigned i = 0; i < 12; i++)
        if (memcmp(p + 4, snare_months[i], 3) == 0) mon = i + 1;
    const char *dp = p + 8;
    size_t dl = 2;
    if (*dp == ' ') dp++, dl = 1;
    if (!mon || !num(dp, dl, &d) || !num(p + 11, 2, &hh) || !num(p + 14, 2, &mm) ||
        !num(p + 17, 2, &ss) || !num(p + 20, 4, &y))
        return false;
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return false;
    int64_t days = days_from_civil(y, mon, d);
    *ms = ((days * 86400 + hh * 3600 + mm * 60 + ss) - (int64_t)tz_min * 60) * 1000;
    return true;
}

/* Fields after "MSWinEventLog": 0 criticality, 1 logname, 2 counter, 3 time, 4 eventid,
 * 5 source, 6 user, 7 sidtype, 8 audit result, 9 computer, 10 category, 11 data... */
static bool win_snare(struct win *w, const char *p, size_t n)
{
    if (n < 14) return false;
    char d = p[13];
    const char *e = p + n, *s = p + 14;
    for (int i = 0; s <= e && i < 12; i++) {
        const char *q = memchr(s, d, (size_t)(e - s));
        const char *fe = q ? q : e;
        size_t fl = (size_t)(fe - s);
        switch (i) {
        case 1:
            win_set(w, W_CHANNEL, s, fl);
            break;
        case 3:
            win_set(w, W_TIME_TEXT, s, fl);
            break;
        case 4:
            w->eid = s, w->eid_len = fl;
            break;
        case 6:
            if (!eq(s, fl, "N/A")) win_set(w, W_USER_FALLBACK, s, fl);
            break;
        case 8:
            win_set(w, W_AUDIT_RESULT, s, fl);
            break;
        case 9:
            win_set(w, W_COMPUTER, s, fl);
            break;
        case 11: {
            /* the rest: data string, expanded string, trailing counter */
            win_text(w, s, (size_t)(e - s));
            break;
        }
        }
        if (!q) break;
        s = q + 1;
    }
    return w->eid != NULL;
}

/* ---------------------------------------------------------------- key=value */

struct kv_arg {
    struct win *w;
    const char *msg; /* WinCollect: the Message= text */
    size_t msg_len;
};

static bool win_kv_fn(const char *k, size_t kn, const char *v, size_t vn, void *arg)
{
    struct kv_arg *a = arg;
    int f = key_find(win_keys, N(win_keys), k, kn);
    if (f == W_EVENTID) {
        if (!a->w->eid) a->w->eid = v, a->w->eid_len = vn;
        return true;
    }
    if (vn == 1 && v[0] == '-' && f != W_AUDIT_RESULT) return true;
    win_set(a->w, f, v, vn);
    return true;
}

/* Splits "k=v<sep>k=v..." up to " Message=" / "\tMessage=" (read as rendered text). */
static void win_kv(struct win *w, const char *p, size_t n, char sep)
{
    const char *e = p + n;
    const char *msg = NULL;
    for (const char *s = p, *f; (f = strm_memmem(s, (size_t)(e - s), "Message=", 8)); s = f + 1) {
        if (f == p || f[-1] == sep) {
            msg = f;
            break;
        }
    }
    struct kv_arg a = {w, NULL, 0};
    dsm_kv_scan(p, (size_t)((msg ? msg : e) - p), sep, win_kv_fn, &a);
    if (msg) win_text(w, msg + 8, (size_t)(e - msg - 8));
}

/* ---------------------------------------------------------------- JSON (flat object) */

/* Unescapes a JSON string body into the arena when it holds a backslash. */
static struct strm_str json_str(const char *p, size_t n, struct strm_arena *arena)
{
    struct strm_str s = {p, (uint32_t)n};
    if (!memchr(p, '\\', n)) return s;
    char *o = strm_arena_alloc(arena, n + 1);
    if (!o) return s;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\\' && i + 1 < n) {
            char x = p[++i];
            switch (x) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u':
                c = '?';
                i += (i + 4 < n) ? 4 : 0;
                break;
            default:
                c = x;
                break;
            }
        }
        o[j++] = c;
    }
    o[j] = 0;
    s.p = o;
    s.len = (uint32_t)j;
    return s;
}

/* Skips a JSON string starting after its opening quote; returns the closing quote or NULL. */
static const char *json_skip_str(const char *p, const char *e)
{
    while (p < e) {
        if (*p == '\\') {
            p += 2;
            continue;
        }
        if (*p == '"') return p;
        p++;
    }
    return NULL;
}

/* Skips a nested value ({...} or [...]) starting at p; returns the byte after it. */
static const char *json_skip_nested(const char *p, const char *e)
{
    int depth = 0;
    while (p < e) {
        char c = *p;
        if (c == '"') {
            p = json_skip_str(p + 1, e);
            if (!p) return e;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) return p + 1;
        }
        p++;
    }
    return e;
}

static bool win_json(struct win *w, const char *p, size_t n, struct strm_arena *arena)
{
    const char *e = p + n, *s = p + 1;
    const char *msg = NULL;
    size_t msg_len = 0;
    while (s < e) {
        while (s < e && (is_ws(*s) || *s == ','))
            s++;
        if (s >= e || *s == '}') break;
        if (*s != '"') return w->eid != NULL;
        const char *ke = json_skip_str(s + 1, e);
        if (!ke) break;
        const char *k = s + 1;
        size_t kn = (size_t)(ke - k);
        s = ke + 1;
        while (s < e && (*s == ' ' || *s == ':'))
            s++;
        if (s >= e) break;
        const char *v;
        size_t vn;
        bool str = false;
        if (*s == '"') {
            const char *ve = json_skip_str(s + 1, e);
            if (!ve) break;
            v = s + 1;
            vn = (size_t)(ve - v);
            s = ve + 1;
            str = true;
        } else if (*s == '{' || *s == '[') {
            s = json_skip_nested(s, e);
            continue;
        } else {
            v = s;
            while (s < e && *s != ',' && *s != '}' && !is_ws(*s))
                s++;
            vn = (size_t)(s - v);
        }
        if (kn == 7 && memcmp(k, "Message", 7) == 0) {
            msg = v, msg_len = vn;
            continue;
        }
        int f = key_find(win_keys, N(win_keys), k, kn);
        if (f == W_NONE) continue;
        struct strm_str sv = {v, (uint32_t)vn};
        if (str) sv = json_str(v, vn, arena);
        if (f == W_EVENTID) {
            if (!w->eid) w->eid = sv.p, w->eid_len = sv.len;
            continue;
        }
        if (sv.len == 1 && sv.p[0] == '-') continue;
        win_set(w, f, sv.p, sv.len);
    }
    /* The rendered Message fills what the EventData fields did not carry. */
    if (msg && msg_len && (!w->f[W_TARGET_USER].len && !w->f[W_SUBJECT_USER].len)) {
        struct strm_str m = json_str(msg, msg_len, arena);
        win_text(w, m.p, m.len);
    }
    return w->eid != NULL;
}

/* ---------------------------------------------------------------- normalization */

static void prop(struct dsm_props *pr, bool *used, const char *k, struct strm_str v)
{
    if (!v.len) return;
    if (!*used) {
        dsm_props_init(pr);
        *used = true;
    }
    dsm_props_add(pr, k, v.p, v.len);
}

static bool set_ip(struct strm_ip *ip, struct strm_str s)
{
    const char *p = s.p;
    size_t n = s.len;
    if (!n || (n == 1 && p[0] == '-')) return false;
    if (pfx(p, n, "::ffff:") && memchr(p + 7, '.', n - 7)) p += 7, n -= 7;
    return dsm_set_ip(ip, p, n);
}

static void set_port(uint16_t *port, struct strm_str s)
{
    if (s.len && !(s.len == 1 && (s.p[0] == '-' || s.p[0] == '0'))) dsm_set_port(port, s.p, s.len);
}

static bool is_failure(struct strm_str r)
{
    return (r.len && (dsm_memcasemem(r.p, r.len, "fail") != NULL)) || eq(r.p, r.len, "16");
}

/* A status of "0x0" / "0x00000000" / "0" means success for Kerberos and NTLM. */
static bool status_ok(struct strm_str s)
{
    if (!s.len) return true;
    size_t i = 0;
    if (s.len >= 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X')) i = 2;
    for (; i < s.len; i++)
        if (s.p[i] != '0') return false;
    return true;
}

static void set_user(struct strm_event *ev, struct strm_str u)
{
    if (!u.len || (u.len == 1 && u.p[0] == '-')) return;
    ev->username = u;
}

static void win_finish(struct strm_event *ev, struct strm_arena *arena, const struct dsm_ctx *ctx,
                       struct win *w)
{
    struct strm_str *f = w->f;
    const char *id = w->eid;
    size_t idn = w->eid_len;
    while (idn && (*id == ' ' || *id == '"'))
        id++, idn--;
    while (idn && (id[idn - 1] == ' ' || id[idn - 1] == '"'))
        idn--;
    uint32_t qid =
        idn ? dsm_qid_find(win_map, N(win_map), id, idn, DSM_QID_UNKNOWN(T)) : DSM_QID_UNKNOWN(T);
    bool failure = is_failure(f[W_AUDIT_RESULT]);
    struct strm_str lt = f[W_LOGON_TYPE];
    uint64_t ltype = 0;
    bool have_lt = lt.len && dsm_parse_uint(lt.p, lt.len, 99, &ltype);
    if (qid == Q(Q_LOGON) && have_lt) {
        if (ltype == 2 || ltype == 7 || ltype == 11)
            qid = Q(Q_LOGON_INTERACTIVE);
        else if (ltype == 3 || ltype == 8)
            qid = Q(Q_LOGON_NETWORK);
        else if (ltype == 10)
            qid = Q(Q_LOGON_REMOTE);
        else if (ltype == 4 || ltype == 5)
            qid = Q(Q_LOGON_SERVICE);
    } else if (qid == Q(Q_LOGON_FAIL) && have_lt) {
        if (ltype == 3 || ltype == 8)
            qid = Q(Q_LOGON_FAIL_NETWORK);
        else if (ltype == 10)
            qid = Q(Q_LOGON_FAIL_REMOTE);
    } else if (qid == Q(Q_KRB_TGT) && !status_ok(f[W_STATUS])) {
        qid = Q(Q_KRB_TGT_FAIL);
    } else if (qid == Q(Q_KRB_ST) && !status_ok(f[W_STATUS])) {
        qid = Q(Q_KRB_ST_FAIL);
    } else if (qid == Q(Q_NTLM_OK) && (!status_ok(f[W_STATUS]) || failure)) {
        qid = Q(Q_NTLM_FAIL);
    } else if ((qid == Q(Q_PASSWORD_CHANGE) || qid == Q(Q_PASSWORD_RESET)) && failure) {
        qid = Q(Q_PASSWORD_CHANGE_FAIL);
    } else if ((qid == Q(Q_SHARE_ACCESS) || qid == Q(Q_SHARE_OBJECT)) && failure) {
        qid = Q(Q_SHARE_DENIED);
    }

    /* Whose name is the username: the actor for these, else the target. */
    bool actor = qid == Q(Q_PROC_CREATED) || qid == Q(Q_PROC_EXITED) || qid == Q(Q_SPECIAL_PRIVS) ||
                 qid == Q(Q_AUDIT_POLICY) || qid == Q(Q_LOG_CLEARED) || qid == Q(Q_SHARE_ACCESS) ||
                 qid == Q(Q_SHARE_OBJECT) || qid == Q(Q_SHARE_DENIED) || qid == Q(Q_TASK_CREATED) ||
                 qid == Q(Q_TASK_CHANGED) || qid == Q(Q_SERVICE_INSTALLED) ||
                 qid == Q(Q_REGISTRY_MODIFIED) || qid == Q(Q_OBJECT_ACCESS) ||
                 qid == Q(Q_FW_RULE_CHANGED) || qid == Q(Q_TIME_CHANGED) ||
                 qid == Q(Q_DS_OBJECT_MODIFIED);
    bool group_ev = qid == Q(Q_GROUP_MEMBER_ADDED) || qid == Q(Q_GROUP_MEMBER_REMOVED);
    bool group_admin =
        qid == Q(Q_GROUP_CREATED) || qid == Q(Q_GROUP_DELETED) || qid == Q(Q_GROUP_CHANGED);
    struct strm_str target = f[W_TARGET_USER], subject = f[W_SUBJECT_USER];
    struct strm_str group = f[W_GROUP];
    if (group_admin) {
        /* the target of these is the group itself; the actor is the user */
        if (!group.len) group = target;
        target = (struct strm_str){NULL, 0};
        actor = true;
    }
    if (group_ev) {
        /* EventData: TargetUserName is the group, MemberName the member's DN */
        if (!group.len && target.len && f[W_MEMBER].len) group = target;
        if (f[W_MEMBER].len) target = f[W_MEMBER];
    }
    if (actor) {
        set_user(ev, subject.len ? subject : target);
    } else {
        set_user(ev, target.len ? target : subject);
    }
    if (!ev->username.len) set_user(ev, f[W_USER_FALLBACK]);

    if (qid == Q(Q_WFP_PERMIT) || qid == Q(Q_WFP_BLOCK)) {
        set_ip(&ev->sourceip, f[W_IP]);
        set_port(&ev->sourceport, f[W_PORT]);
        set_ip(&ev->destinationip, f[W_DST_IP]);
        set_port(&ev->destinationport, f[W_DST_PORT]);
        struct strm_str pr = f[W_PROTOCOL];
        if (pr.len) ev->protocolid = dsm_protocol(pr.p, pr.len);
    } else {
        set_ip(&ev->sourceip, f[W_IP]);
        set_port(&ev->sourceport, f[W_PORT]);
    }
    if (f[W_COMPUTER].len) ev->hostname = f[W_COMPUTER];

    int64_t ms;
    if (f[W_TIME_EPOCH].len &&
        dsm_parse_time(DSM_TIME_EPOCH, f[W_TIME_EPOCH].p, f[W_TIME_EPOCH].len, ctx->tz_min, &ms))
        ev->devicetime = ms;
    else if (f[W_TIME_TEXT].len) {
        struct strm_str t = f[W_TIME_TEXT];
        if (snare_time(t.p, t.len, ctx->tz_min, &ms) ||
            dsm_parse_time(DSM_TIME_ISO8601, t.p, t.len, ctx->tz_min, &ms) ||
            dsm_parse_time(DSM_TIME_YMD_HMS, t.p, t.len, ctx->tz_min, &ms))
            ev->devicetime = ms;
    }

    struct dsm_props pr;
    bool used = false;
    struct strm_str eid = {id, (uint32_t)idn};
    prop(&pr, &used, "EventID", eid);
    if (have_lt) prop(&pr, &used, "LogonType", lt);
    if (actor || group_ev) {
        if (target.len && !(target.len == 1 && target.p[0] == '-') && !actor)
            prop(&pr, &used, "TargetUserName", target);
        if (actor && target.len) prop(&pr, &used, "TargetUserName", target);
    }
    if (!actor && subject.len) prop(&pr, &used, "SubjectUserName", subject);
    prop(&pr, &used, "TargetDomainName", f[W_TARGET_DOMAIN]);
    prop(&pr, &used, "SubjectDomainName", f[W_SUBJECT_DOMAIN]);
    prop(&pr, &used, "Group", group);
    prop(&pr, &used, "WorkstationName", f[W_WORKSTATION]);
    prop(&pr, &used, "Status", f[W_STATUS]);
    prop(&pr, &used, "SubStatus", f[W_SUBSTATUS]);
    prop(&pr, &used, "FailureReason", f[W_FAILURE_REASON]);
    prop(&pr, &used, "ProcessName", f[W_PROCESS]);
    prop(&pr, &used, "NewProcessName", f[W_NEW_PROCESS]);
    prop(&pr, &used, "CommandLine", f[W_COMMAND_LINE]);
    prop(&pr, &used, "ParentProcessName", f[W_PARENT_PROCESS]);
    prop(&pr, &used, "ServiceName", f[W_SERVICE_NAME]);
    prop(&pr, &used, "ServiceFileName", f[W_SERVICE_FILE]);
    prop(&pr, &used, "TaskName", f[W_TASK_NAME]);
    prop(&pr, &used, "ShareName", f[W_SHARE_NAME]);
    prop(&pr, &used, "ShareLocalPath", f[W_SHARE_PATH]);
    prop(&pr, &used, "RelativeTargetName", f[W_RELATIVE_TARGET]);
    prop(&pr, &used, "ObjectName", f[W_OBJECT_NAME]);
    prop(&pr, &used, "Application", f[W_APPLICATION]);
    prop(&pr, &used, "Direction", f[W_DIRECTION]);
    prop(&pr, &used, "Channel", f[W_CHANNEL]);

    dsm_set_qid(ev, qid);
    if (used) dsm_props_commit(&pr, ev, arena);
    ev->devicetype = T;
}

/* ---------------------------------------------------------------- rendered text only */

/*
 * NXLog's default BSD syslog output carries only the rendered message under the tag
 * "Microsoft-Windows-Security-Auditing": the event id is recovered from the message's
 * first sentence, which Windows fixes per event id.
 */
static const struct {
    const char *sentence;
    const char *eid;
} win_sentences[] = {
    {"An account was successfully logged on.", "4624"},
    {"An account failed to log on.", "4625"},
    {"An account was logged off.", "4634"},
    {"User initiated logoff:", "4647"},
    {"A logon was attempted using explicit credentials.", "4648"},
    {"Special privileges assigned to new logon.", "4672"},
    {"A new process has been created.", "4688"},
    {"A process has exited.", "4689"},
    {"A service was installed in the system.", "4697"},
    {"A scheduled task was created.", "4698"},
    {"System audit policy was changed.", "4719"},
    {"A user account was created.", "4720"},
    {"A user account was enabled.", "4722"},
    {"An attempt was made to change an account's password.", "4723"},
    {"An attempt was made to reset an account's password.", "4724"},
    {"A user account was disabled.", "4725"},
    {"A user account was deleted.", "4726"},
    {"A member was added to a security-enabled global group.", "4728"},
    {"A member was removed from a security-enabled global group.", "4729"},
    {"A member was added to a security-enabled local group.", "4732"},
    {"A member was removed from a security-enabled local group.", "4733"},
    {"A user account was changed.", "4738"},
    {"A user account was locked out.", "4740"},
    {"A member was added to a security-enabled universal group.", "4756"},
    {"A member was removed from a security-enabled universal group.", "4757"},
    {"A user account was unlocked.", "4767"},
    {"A Kerberos authentication ticket (TGT) was requested.", "4768"},
    {"A Kerberos service ticket was requested.", "4769"},
    {"Kerberos pre-authentication failed.", "4771"},
    {"The computer attempted to validate the credentials for an account.", "4776"},
    {"The audit log was cleared.", "1102"},
    {"A registry value was modified.", "4657"},
    {"A network share object was accessed.", "5140"},
    {"A network share object was checked to see whether client can be granted desired "
     "access.",
     "5145"},
    {"The Windows Filtering Platform has permitted a connection.", "5156"},
    {"The Windows Filtering Platform has blocked a connection.", "5157"},
};

static bool win_rendered(struct win *w, const char *m, size_t n)
{
    for (size_t i = 0; i < N(win_sentences); i++) {
        if (pfx(m, n, win_sentences[i].sentence)) {
            w->eid = win_sentences[i].eid;
            w->eid_len = strlen(w->eid);
            break;
        }
    }
    win_text(w, m, n);
    return true; /* the tag alone names the source: unknown sentences get the unknown QID */
}

/* ---------------------------------------------------------------- entry */

static bool windows_parse(struct strm_event *ev, struct strm_arena *arena,
                          const struct dsm_ctx *ctx)
{
    const char *m = ev->message.p;
    size_t n = ev->message.len;
    if (!m || n < 8) return false;
    struct win w;
    memset(&w, 0, sizeof w);
    bool ok = false;
    if (m[0] == 'M' && pfx(m, n, "MSWinEventLog")) {
        ok = win_snare(&w, m, n);
    } else if (m[0] == 'A' && pfx(m, n, "AgentDevice=WindowsLog")) {
        win_kv(&w, m, n, '\t');
        ok = w.eid != NULL;
    } else if (m[0] == '{') {
        const char *hit = strm_memmem(m, n, "\"EventID\"", 9);
        if (!hit) return false;
        if (!strm_memmem(m, n, "\"SourceName\"", 12) && !strm_memmem(m, n, "\"Channel\"", 9))
            return false;
        ok = win_json(&w, m, n, arena);
    } else {
        /* Snare without syslog header: "host<D>MSWinEventLog<D>..." */
        size_t lim = n < 300 ? n : 300;
        const char *sn = strm_memmem(m, lim, "MSWinEventLog", 13);
        if (sn && sn > m && sn + 13 < m + n &&
            (sn[-1] == '\t' || sn[-1] == ' ' || sn[-1] == sn[13])) {
            for (const char *h = m; h < sn - 1; h++)
                if (*h == ' ' || *h == '\t') return false; /* one hostname token before it */
            ok = win_snare(&w, sn, (size_t)(m + n - sn));
        } else if ((sn = strm_memmem(m, n < 160 ? n : 160, ": {\"", 4)) != NULL) {
            /* a tag the syslog header could not take (spaces in the source name) */
            const char *j = sn + 2;
            size_t jn = (size_t)(m + n - j);
            if (!strm_memmem(j, jn, "\"EventID\"", 9)) return false;
            ok = win_json(&w, j, jn, arena);
        } else {
            size_t klim = n < 1024 ? n : 1024;
            const char *k = strm_memmem(m, klim, "EventID=", 8);
            if (!k && ev->appname.len == 35 &&
                memcmp(ev->appname.p, "Microsoft-Windows-Security-Auditing", 35) == 0) {
                win_rendered(&w, m, n);
                win_finish(ev, arena, ctx, &w);
                return true;
            }
            if (!k || (k != m && k[-1] != ' ' && k[-1] != '\t' && k[-1] != ',')) return false;
            bool ms_app =
                ev->appname.len > 18 && pfx(ev->appname.p, ev->appname.len, "Microsoft-Windows-");
            if (!ms_app && !strm_memmem(m, n, "SourceName=", 11) &&
                !strm_memmem(m, n, "Channel=", 8))
                return false;
            char sep = ' ';
            if (memchr(m, '\t', klim)) sep = '\t';
            win_kv(&w, m, n, sep);
            ok = w.eid != NULL;
        }
    }
    if (!ok) return false;
    win_finish(ev, arena, ctx, &w);
    return true;
}

const struct dsm_def dsm_windows = {
    .name = "windows",
    .display = "Microsoft Windows Security Event Log",
    .type_id = T,
    .qids = win_qids,
    .n_qids = N(win_qids),
    .init = NULL,
    .parse = windows_parse,
};
