// The service on Azure: a .NET isolated Function App on the Flex Consumption plan, its storage, monitoring,
// secrets and (optionally) a PostgreSQL ledger. Deploy with the commands in infra/README.md.

targetScope = 'resourceGroup'

@description('Short lower-case name used in every resource name (letters, digits, hyphens).')
@minLength(3)
@maxLength(12)
param baseName string = 'serverless'

@description('Environment name appended to resource names: dev, test, prod, ...')
@minLength(2)
@maxLength(8)
param environmentName string = 'dev'

@description('Azure region; must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string = resourceGroup().location

@description('Tags for every resource.')
param tags object = {}

// --- Function App -----------------------------------------------------------------------------------------

@description('Memory of each instance in MB. 4096 for a 4-bit 3-4B model; 2048 fits the demo model or a 0.5-1.5B model.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 4096

@description('Always-ready instances for the HTTP functions (billed while idle). 0 scales to zero; the first request then waits for an instance and the model download.')
@minValue(0)
@maxValue(100)
param alwaysReadyInstances int = 0

@description('Connections the PostgreSQL server accepts: its max_connections (50 for Standard_B1ms; see the Flexible Server limits for other sizes).')
@minValue(25)
@maxValue(5000)
param postgresMaxConnections int = 50

@description('Connections of max_connections kept free: Azure reserves some for itself, and an administrator needs one.')
@minValue(0)
param postgresReservedConnections int = 15

@description('Connections one pool of one instance may open (Database:MaxPoolSize). An instance has two pools: the ledger writer\'s and everything else\'s.')
@minValue(1)
@maxValue(100)
param postgresPoolSizePerInstance int = 2

@description('Most instances the app scales out to. Ignored (forced to 1) while the ledger is SQLite, which lives on one instance. Default: as many as PostgreSQL serves with every pool of every instance full.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = (postgresMaxConnections - postgresReservedConnections) / (2 * postgresPoolSizePerInstance)

@description('Generations running at once on one instance (Inference:MaxConcurrentGenerations).')
@minValue(1)
@maxValue(64)
param maxConcurrentGenerations int = 4

@description('Requests waiting for a generation slot on one instance before 429 (Inference:MaxQueuedRequests).')
@minValue(0)
@maxValue(1000)
param maxQueuedRequests int = 16

@description('Concurrent HTTP requests per instance before the platform adds an instance. Matching the generation slots scales out before requests queue.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = maxConcurrentGenerations

@description('.NET version of the isolated worker.')
param dotnetVersion string = '10.0'

@description('Start of every issued API key (Keys:Prefix).')
param keyPrefix string = 'sk-svl'

@description('Id the model is served under; upload it with `models upload <folder> --id <modelId>`.')
param modelId string = 'phi3-mini'

@description('Blob folder of the model in the models container; empty means the model id.')
param modelBlobPrefix string = ''

// --- Storage, monitoring, access ----------------------------------------------------------------------------

@description('Storage replication.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Days Log Analytics keeps logs and telemetry.')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Key Vault purge protection (cannot be turned off again). Enable for production.')
param enableKeyVaultPurgeProtection bool = false

@description('Object id of the operator (az ad signed-in-user show --query id -o tsv): may upload models and read the admin key. Empty for none.')
param operatorPrincipalId string = ''

@description('Type of operatorPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

// --- Secrets: written to Key Vault when given, kept as stored when empty ----------------------------------

@description('HMAC key API keys are stored under (Keys:HashSecret), at least 32 bytes. Never change it after keys were issued.')
@secure()
param keysHashSecret string = ''

@description('Bearer token of the admin API (Admin:Key), at least 32 characters.')
@secure()
param adminKey string = ''

@description('Stripe secret API key (Stripe:ApiKey); used by the billing feature.')
@secure()
param stripeApiKey string = ''

@description('Stripe webhook signing secret (Stripe:WebhookSecret); used by the billing feature.')
@secure()
param stripeWebhookSecret string = ''

// --- Optional PostgreSQL ledger -------------------------------------------------------------------------------

@description('Create a PostgreSQL Flexible Server and point Database:Provider/ConnectionString at it (needed for more than one instance).')
param enablePostgres bool = false

@description('PostgreSQL administrator login.')
param postgresAdministratorLogin string = 'serverless'

@description('PostgreSQL administrator password; required when enablePostgres is true.')
@secure()
param postgresAdministratorPassword string = ''

@description('PostgreSQL compute size.')
param postgresSkuName string = 'Standard_B1ms'

@description('PostgreSQL compute tier of postgresSkuName.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL storage in GiB.')
@minValue(32)
param postgresStorageSizeGB int = 32

var suffix = uniqueString(subscription().id, resourceGroup().id, baseName, environmentName)
var compactName = toLower(replace(baseName, '-', ''))
var names = {
  identity: 'id-${baseName}-${environmentName}'
  logAnalytics: 'log-${baseName}-${environmentName}'
  applicationInsights: 'appi-${baseName}-${environmentName}'
  storage: take('st${compactName}${suffix}', 24)
  keyVault: take('kv-${baseName}-${suffix}', 24)
  plan: 'plan-${baseName}-${environmentName}'
  functionApp: 'func-${baseName}-${environmentName}-${take(suffix, 6)}'
  postgres: 'psql-${baseName}-${environmentName}-${take(suffix, 6)}'
}
var containers = {
  deployment: 'app-package'
  models: 'models'
  batch: 'batch'
}
var allTags = union(tags, {
  application: baseName
  environment: environmentName
})

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    name: names.identity
    location: location
    tags: allTags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: allTags
    // Role assignment names are seeded with the principal id, as Azure recommends, so a re-created identity gets
    // new assignments instead of a conflict; What-If shows those assignments as unknown until deployment.
    #disable-next-line what-if-short-circuiting
    identityPrincipalId: identity.outputs.principalId
    retentionInDays: logRetentionInDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: names.storage
    location: location
    tags: allTags
    skuName: storageSkuName
    deploymentContainerName: containers.deployment
    modelsContainerName: containers.models
    batchContainerName: containers.batch
    // Role assignment names are seeded with the principal id, as Azure recommends, so a re-created identity gets
    // new assignments instead of a conflict; What-If shows those assignments as unknown until deployment.
    #disable-next-line what-if-short-circuiting
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    name: names.keyVault
    location: location
    tags: allTags
    // Role assignment names are seeded with the principal id, as Azure recommends, so a re-created identity gets
    // new assignments instead of a conflict; What-If shows those assignments as unknown until deployment.
    #disable-next-line what-if-short-circuiting
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    enablePurgeProtection: enableKeyVaultPurgeProtection
    keysHashSecret: keysHashSecret
    adminKey: adminKey
    stripeApiKey: stripeApiKey
    stripeWebhookSecret: stripeWebhookSecret
  }
}

module postgres 'modules/postgres.bicep' = if (enablePostgres) {
  name: 'postgres'
  params: {
    name: names.postgres
    location: location
    tags: allTags
    administratorLogin: postgresAdministratorLogin
    administratorPassword: postgresAdministratorPassword
    databaseName: 'serverless'
    keyVaultName: names.keyVault
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
  }
  dependsOn: [
    keyVault
  ]
}

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: allTags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: names.storage
    deploymentContainerName: containers.deployment
    modelsContainerName: containers.models
    applicationInsightsName: names.applicationInsights
    keyVaultName: names.keyVault
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyInstances: alwaysReadyInstances
    // SQLite is a file on one instance's disk: a second instance would have its own, empty ledger.
    maximumInstanceCount: enablePostgres ? maximumInstanceCount : 1
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    dotnetVersion: dotnetVersion
    usePostgres: enablePostgres
    databaseMaxPoolSize: postgresPoolSizePerInstance
    keyPrefix: keyPrefix
    modelId: modelId
    modelBlobPrefix: modelBlobPrefix
    maxConcurrentGenerations: maxConcurrentGenerations
    maxQueuedRequests: maxQueuedRequests
    durableTaskHubName: '${compactName}${environmentName}'
    batchContainerName: containers.batch
  }
  // Names are passed as known strings (What-If can then predict the app); these are the modules they name. The
  // roles must exist, and the connection-string secret be written, before the app resolves its settings.
  dependsOn: [
    storage
    monitoring
    keyVault
    postgres
  ]
}

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = 'https://${functionApp.outputs.defaultHostName}'
output storageAccountName string = storage.outputs.name
output blobServiceUri string = storage.outputs.blobServiceUri
output modelsContainer string = containers.models
output keyVaultName string = keyVault.outputs.name
output identityClientId string = identity.outputs.clientId
output postgresServerName string = enablePostgres ? postgres!.outputs.serverName : ''
