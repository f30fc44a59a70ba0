"""Transfer rules stored as data (调拨规则): ``store`` saves, versions, lists and previews them;
``checks`` refuses a bad rule at save with the reason."""

from cangliu.services.planning_rules.checks import FUNCTIONS, check_cycles, check_rule
from cangliu.services.planning_rules.store import (
    active_rules,
    create_rule,
    delete_rule,
    export_rules,
    get_rule,
    import_rules,
    list_rules,
    preview,
    reset_builtin,
    restore_rule,
    rule_versions,
    seed_builtins,
    set_enabled,
    update_rule,
    version_text,
)

__all__ = ["FUNCTIONS", "active_rules", "check_cycles", "check_rule", "create_rule", "delete_rule",
           "export_rules", "get_rule", "import_rules", "list_rules", "preview", "reset_builtin",
           "restore_rule", "rule_versions", "seed_builtins", "set_enabled", "update_rule",
           "version_text"]
