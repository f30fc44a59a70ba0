"""SQLAlchemy rows, one module per table family."""

from cangliu.db.models.approvals import ApprovalInstance, ApprovalLinkUse, ApprovalPolicy, ApprovalTask
from cangliu.db.models.audit import AuditEvent, AuditHead
from cangliu.db.models.auth import (
    ApiToken,
    AppUser,
    Role,
    RoleAssignment,
    SecurityEvent,
    UserSession,
)
from cangliu.db.models.calendar import CalendarEvent
from cangliu.db.models.collab import DocumentComment, Notification, Task
from cangliu.db.models.custom_fields import CustomField
from cangliu.db.models.documents import (
    CustomerPrice,
    HeldDocument,
    NumberCounter,
    PurchaseLine,
    PurchaseOrder,
    SalesLine,
    SalesOrder,
    StockCount,
    StockCountLine,
    SupplierPrice,
    TransferLine,
    TransferOrder,
)
from cangliu.db.models.events import (
    Alert,
    AlertRule,
    AlertSubscription,
    Channel,
    Delivery,
    OutboxEvent,
)
from cangliu.db.models.history import RecordVersion
from cangliu.db.models.imports import ImportFile, ImportJob
from cangliu.db.models.labels import LabelTemplate
from cangliu.db.models.ledger import (
    IdempotencyRecord,
    Reservation,
    SkuCost,
    StockBalance,
    StockMove,
)
from cangliu.db.models.locks import EditLock
from cangliu.db.models.masterdata import (
    Barcode,
    Category,
    Customer,
    Location,
    Lot,
    Sku,
    Supplier,
)
from cangliu.db.models.money import Allocation, OpenItem, Payment
from cangliu.db.models.offline import OfflineDevice, OfflineOperation
from cangliu.db.models.planning import (
    DemandDay,
    PlanningSuggestion,
    StockThreshold,
    ThresholdOverride,
)
from cangliu.db.models.planning_rules import TransferRule, TransferRuleVersion
from cangliu.db.models.print_templates import PrintTemplate
from cangliu.db.models.promotions import Promotion, PromotionSite, PromotionSku
from cangliu.db.models.serials import (
    AssemblyLink,
    Recall,
    RecallUnit,
    RepairAction,
    RepairTicket,
    Serial,
    SerialBatch,
    SerialCounter,
    SerialEvent,
    SerialRule,
    WorkOrder,
    WorkOrderComponent,
)
from cangliu.db.models.system import Setting

__all__ = [
    "Alert",
    "AlertRule",
    "AlertSubscription",
    "Allocation",
    "ApiToken",
    "AppUser",
    "ApprovalInstance",
    "ApprovalLinkUse",
    "ApprovalPolicy",
    "ApprovalTask",
    "AssemblyLink",
    "AuditEvent",
    "AuditHead",
    "Barcode",
    "CalendarEvent",
    "Category",
    "Channel",
    "CustomField",
    "Customer",
    "CustomerPrice",
    "Delivery",
    "DemandDay",
    "DocumentComment",
    "EditLock",
    "HeldDocument",
    "IdempotencyRecord",
    "ImportFile",
    "ImportJob",
    "LabelTemplate",
    "Location",
    "Lot",
    "Notification",
    "NumberCounter",
    "OfflineDevice",
    "OfflineOperation",
    "OpenItem",
    "OutboxEvent",
    "Payment",
    "PlanningSuggestion",
    "PrintTemplate",
    "Promotion",
    "PromotionSite",
    "PromotionSku",
    "PurchaseLine",
    "PurchaseOrder",
    "Recall",
    "RecallUnit",
    "RecordVersion",
    "RepairAction",
    "RepairTicket",
    "Reservation",
    "Role",
    "RoleAssignment",
    "SalesLine",
    "SalesOrder",
    "SecurityEvent",
    "Serial",
    "SerialBatch",
    "SerialCounter",
    "SerialEvent",
    "SerialRule",
    "Setting",
    "Sku",
    "SkuCost",
    "StockBalance",
    "StockCount",
    "StockCountLine",
    "StockMove",
    "StockThreshold",
    "Supplier",
    "SupplierPrice",
    "Task",
    "ThresholdOverride",
    "TransferLine",
    "TransferOrder",
    "TransferRule",
    "TransferRuleVersion",
    "UserSession",
    "WorkOrder",
    "WorkOrderComponent",
]
from cangliu.db.models import kpis, reports  # noqa: F401  (their tables register with Base)
