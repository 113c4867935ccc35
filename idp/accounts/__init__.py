"""Operations on accounts, shared by the staff console, provisioning (SCIM), the commands and
the account holder's own pages.

    actions  what staff, provisioning clients and commands may do to an account (audited)
    links    single-use links e-mailed to the account holder: new password, new authenticator
    notices  the e-mails telling the account holder what happened
    recovery what the account holder does with such a link (new password, new app)
"""
