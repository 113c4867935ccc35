"""The staff console's logic (the pages are idp.web.console):

    access    roles as data, the one check every console page goes through, step-up, rate limit
    parents   the queries behind the parents' list and detail, always within one organisation
    staff     the queries behind staff management
"""
