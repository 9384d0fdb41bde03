using Serverless.Core.Billing;
using Serverless.Core.Dashboard;
using Serverless.Core.Files;
using Serverless.Core.Inference;
using Serverless.Core.Jobs;
using Serverless.Core.Keys;
using Serverless.Core.Metering;
using Serverless.Core.Models;

namespace Serverless.Core.Http;

public static class ApiRoutes
{
    public static readonly ApiRoute ChatCompletions = new("ChatCompletions", "POST", "/v1/chat/completions", ApiAuth.ApiKey, typeof(ChatCompletionsHandler)) { Permission = ApiKeyPermissions.Inference };
    public static readonly ApiRoute Completions = new("Completions", "POST", "/v1/completions", ApiAuth.ApiKey, typeof(CompletionsHandler)) { Permission = ApiKeyPermissions.Inference };
    public static readonly ApiRoute ListModels = new("ListModels", "GET", "/v1/models", ApiAuth.ApiKey, typeof(ListModelsHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Inference };
    public static readonly ApiRoute GetModel = new("GetModel", "GET", "/v1/models/{id}", ApiAuth.ApiKey, typeof(GetModelHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Inference };
    public static readonly ApiRoute AdminCreateKey = new("AdminCreateKey", "POST", "/v1/admin/keys", ApiAuth.Admin, typeof(AdminCreateKeyHandler));
    public static readonly ApiRoute AdminListKeys = new("AdminListKeys", "GET", "/v1/admin/keys", ApiAuth.Admin, typeof(AdminListKeysHandler));
    public static readonly ApiRoute AdminRevokeKey = new("AdminRevokeKey", "DELETE", "/v1/admin/keys/{id}", ApiAuth.Admin, typeof(AdminRevokeKeyHandler));
    public static readonly ApiRoute AdminModels = new("AdminModels", "GET", "/v1/admin/models", ApiAuth.Admin, typeof(AdminModelsHandler));
    public static readonly ApiRoute Usage = new("Usage", "GET", "/v1/usage", ApiAuth.ApiKey, typeof(UsageHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.UsageRead };
    public static readonly ApiRoute ReceiptSecret = new("ReceiptSecret", "GET", "/v1/usage/receipt_secret", ApiAuth.ApiKey, typeof(ReceiptSecretHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.UsageRead };
    public static readonly ApiRoute AdminUsage = new("AdminUsage", "GET", "/v1/admin/usage", ApiAuth.Admin, typeof(AdminUsageExportHandler));
    public static readonly ApiRoute AdminSetPrice = new("AdminSetPrice", "POST", "/v1/admin/prices", ApiAuth.Admin, typeof(AdminSetPriceHandler));
    public static readonly ApiRoute AdminListPrices = new("AdminListPrices", "GET", "/v1/admin/prices", ApiAuth.Admin, typeof(AdminListPricesHandler));
    public static readonly ApiRoute AdminSetLimits = new("AdminSetLimits", "POST", "/v1/admin/limits", ApiAuth.Admin, typeof(AdminSetLimitsHandler));
    public static readonly ApiRoute AdminGetLimits = new("AdminGetLimits", "GET", "/v1/admin/limits", ApiAuth.Admin, typeof(AdminGetLimitsHandler));
    public static readonly ApiRoute StripeWebhook = new("StripeWebhook", "POST", "/stripe/webhook", ApiAuth.None, typeof(StripeWebhookHandler));
    public static readonly ApiRoute AdminCustomer = new("AdminCustomer", "POST", "/v1/admin/customers", ApiAuth.Admin, typeof(AdminCustomerHandler));
    public static readonly ApiRoute AdminBillingStatus = new("AdminBillingStatus", "GET", "/v1/admin/billing/status", ApiAuth.Admin, typeof(AdminBillingStatusHandler));
    public static readonly ApiRoute AdminDeadLetters = new("AdminDeadLetters", "GET", "/v1/admin/billing/dead-letters", ApiAuth.Admin, typeof(AdminDeadLettersHandler));
    public static readonly ApiRoute AdminRetryDeadLetters = new("AdminRetryDeadLetters", "POST", "/v1/admin/billing/dead-letters/retry", ApiAuth.Admin, typeof(AdminRetryDeadLettersHandler));
    public static readonly ApiRoute AdminExport = new("AdminExport", "POST", "/v1/admin/billing/export", ApiAuth.Admin, typeof(AdminExportHandler));
    public static readonly ApiRoute AdminReconcile = new("AdminReconcile", "POST", "/v1/admin/billing/reconcile", ApiAuth.Admin, typeof(AdminReconcileHandler));
    public static readonly ApiRoute AdminMeterErrors = new("AdminMeterErrors", "GET", "/v1/admin/billing/errors", ApiAuth.Admin, typeof(AdminMeterErrorsHandler));
    public static readonly ApiRoute UploadFile = new("UploadFile", "POST", "/v1/files", ApiAuth.ApiKey, typeof(UploadFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute ListFiles = new("ListFiles", "GET", "/v1/files", ApiAuth.ApiKey, typeof(ListFilesHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute GetFile = new("GetFile", "GET", "/v1/files/{id}", ApiAuth.ApiKey, typeof(GetFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute GetFileContent = new("GetFileContent", "GET", "/v1/files/{id}/content", ApiAuth.ApiKey, typeof(GetFileContentHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute DeleteFile = new("DeleteFile", "DELETE", "/v1/files/{id}", ApiAuth.ApiKey, typeof(DeleteFileHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute CreateBatch = new("CreateBatch", "POST", "/v1/batches", ApiAuth.ApiKey, typeof(CreateBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches, AlsoRequires = ApiKeyPermissions.Inference };
    public static readonly ApiRoute ListBatches = new("ListBatches", "GET", "/v1/batches", ApiAuth.ApiKey, typeof(ListBatchesHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute GetBatch = new("GetBatch", "GET", "/v1/batches/{id}", ApiAuth.ApiKey, typeof(GetBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute CancelBatch = new("CancelBatch", "POST", "/v1/batches/{id}/cancel", ApiAuth.ApiKey, typeof(CancelBatchHandler)) { CountsRequest = true, Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute Health = new("Health", "GET", "/health", ApiAuth.None, typeof(HealthHandler));

    // The customer dashboard: page and assets are public; data needs the session cookie, changes also its CSRF token.
    public static readonly ApiRoute DashboardPage = new("DashboardPage", "GET", "/dashboard", ApiAuth.None, typeof(DashboardPageHandler));
    public static readonly ApiRoute DashboardAsset = new("DashboardAsset", "GET", "/dashboard/assets/{id}", ApiAuth.None, typeof(DashboardAssetHandler));
    public static readonly ApiRoute DashboardSession = new("DashboardSession", "GET", "/dashboard/api/session", ApiAuth.None, typeof(DashboardSessionHandler));
    public static readonly ApiRoute DashboardSignIn = new("DashboardSignIn", "POST", "/dashboard/api/session", ApiAuth.None, typeof(DashboardSignInHandler));
    public static readonly ApiRoute DashboardLinkSignIn = new("DashboardLinkSignIn", "POST", "/dashboard/api/session/link", ApiAuth.None, typeof(DashboardLinkSignInHandler));
    public static readonly ApiRoute DashboardSignOut = new("DashboardSignOut", "DELETE", "/dashboard/api/session", ApiAuth.Session, typeof(DashboardSignOutHandler));
    public static readonly ApiRoute DashboardOverview = new("DashboardOverview", "GET", "/dashboard/api/overview", ApiAuth.Session, typeof(DashboardOverviewHandler));
    public static readonly ApiRoute DashboardChart = new("DashboardChart", "GET", "/dashboard/api/chart", ApiAuth.Session, typeof(DashboardChartHandler));
    public static readonly ApiRoute DashboardRequests = new("DashboardRequests", "GET", "/dashboard/api/requests", ApiAuth.Session, typeof(DashboardRequestsHandler));
    public static readonly ApiRoute DashboardKeys = new("DashboardKeys", "GET", "/dashboard/api/keys", ApiAuth.Session, typeof(DashboardKeysHandler));
    public static readonly ApiRoute DashboardCreateKey = new("DashboardCreateKey", "POST", "/dashboard/api/keys", ApiAuth.Session, typeof(DashboardCreateKeyHandler)) { Permission = ApiKeyPermissions.KeysManage };
    public static readonly ApiRoute DashboardRevokeKey = new("DashboardRevokeKey", "DELETE", "/dashboard/api/keys/{id}", ApiAuth.Session, typeof(DashboardRevokeKeyHandler)) { Permission = ApiKeyPermissions.KeysManage };
    public static readonly ApiRoute DashboardBilling = new("DashboardBilling", "GET", "/dashboard/api/billing", ApiAuth.Session, typeof(DashboardBillingHandler));
    public static readonly ApiRoute DashboardBatches = new("DashboardBatches", "GET", "/dashboard/api/batches", ApiAuth.Session, typeof(DashboardBatchesHandler));
    public static readonly ApiRoute DashboardCancelBatch = new("DashboardCancelBatch", "POST", "/dashboard/api/batches/{id}/cancel", ApiAuth.Session, typeof(DashboardCancelBatchHandler)) { Permission = ApiKeyPermissions.Batches };
    public static readonly ApiRoute DashboardFileContent = new("DashboardFileContent", "GET", "/dashboard/api/files/{id}/content", ApiAuth.Session, typeof(DashboardFileContentHandler)) { Permission = ApiKeyPermissions.Batches };

    public static IReadOnlyList<ApiRoute> All { get; } =
    [
        ChatCompletions, Completions, ListModels, GetModel, Usage, ReceiptSecret,
        UploadFile, ListFiles, GetFile, GetFileContent, DeleteFile, CreateBatch, ListBatches, GetBatch, CancelBatch,
        AdminCreateKey, AdminListKeys, AdminRevokeKey, AdminModels,
        AdminUsage, AdminSetPrice, AdminListPrices, AdminSetLimits, AdminGetLimits,
        StripeWebhook, AdminCustomer, AdminBillingStatus, AdminDeadLetters, AdminRetryDeadLetters, AdminExport, AdminReconcile, AdminMeterErrors,
        Health,
        DashboardPage, DashboardAsset, DashboardSession, DashboardSignIn, DashboardLinkSignIn, DashboardSignOut,
        DashboardOverview, DashboardChart, DashboardRequests, DashboardKeys, DashboardCreateKey, DashboardRevokeKey, DashboardBilling,
        DashboardBatches, DashboardCancelBatch, DashboardFileContent,
    ];
}
