// The Function App on the Flex Consumption plan. It runs as the user-assigned identity for everything: the
// deployment package, AzureWebJobsStorage, model blobs, Key Vault references and Application Insights.
// Every app setting the app reads is listed here by name; infra tests compare this list with
// local.settings.sample.json and check that no secret is a plain value.

import { keyVaultSecretNames } from 'keyVaultSecretNames.bicep'

@description('Function App name (globally unique host name).')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region.')
param location string

@description('Tags for every resource.')
param tags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

@description('Storage account for the deployment package, AzureWebJobsStorage and models.')
param storageAccountName string

@description('Container the deployment package is uploaded to.')
param deploymentContainerName string

@description('Container the models are in.')
param modelsContainerName string

@description('Application Insights component.')
param applicationInsightsName string

@description('Vault holding the secret settings.')
param keyVaultName string

@description('Memory of each instance in MB. 4096 for a 4-bit 3-4B model (weights plus KV cache); 2048 fits the demo model or a 0.5-1.5B model.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

@description('Instances of the HTTP group kept running (billed while idle); 0 scales to zero and accepts a cold start with a model download.')
@minValue(0)
@maxValue(100)
param alwaysReadyInstances int

@description('Upper bound on instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Concurrent HTTP requests one instance is given before the platform adds another.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int

@description('.NET version of the isolated worker.')
param dotnetVersion string

@description('True: the ledger is in PostgreSQL (connection string from Key Vault). False: SQLite on the instance disk.')
param usePostgres bool

@description('Connections one PostgreSQL pool of an instance may open (Database:MaxPoolSize).')
@minValue(1)
param databaseMaxPoolSize int

@description('Start of every issued API key (Keys:Prefix).')
param keyPrefix string

@description('Id the model is served under (ModelStorage:Models:0:Id).')
param modelId string

@description('Blob folder of the model in the models container; empty means the id.')
param modelBlobPrefix string

@description('Generations running at once on one instance (Inference:MaxConcurrentGenerations).')
@minValue(1)
param maxConcurrentGenerations int

@description('Requests waiting for a generation slot on one instance before 429 (Inference:MaxQueuedRequests).')
@minValue(0)
param maxQueuedRequests int

@description('Durable Task hub name, referenced by host.json as %DurableTaskHubName%.')
param durableTaskHubName string

@description('Container for batch input and output files and the batch orchestrations\' working data (Files:Container).')
param batchContainerName string

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName
}

var blobServiceUri = storage.properties.primaryEndpoints.blob
var vaultUri = vault.properties.vaultUri

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity (the default would be a system identity, which the app lacks).
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobServiceUri}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyInstances > 0
          ? [
              {
                name: 'http'
                instanceCount: alwaysReadyInstances
              }
            ]
          : []
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        // Functions host storage by identity: no connection string, no account key.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'AzureWebJobsStorage__clientId'
          value: identityClientId
        }
        // Ingestion needs an Entra token (local auth is off), so the connection string carries no usable secret.
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
          value: 'ClientId=${identityClientId};Authorization=AAD'
        }
        {
          name: 'Keys__HashSecret'
          value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${keyVaultSecretNames.keysHashSecret}/)'
        }
        {
          name: 'Keys__Prefix'
          value: keyPrefix
        }
        {
          name: 'Keys__CacheTtl'
          value: '00:00:10'
        }
        {
          name: 'Admin__Key'
          value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${keyVaultSecretNames.adminKey}/)'
        }
        {
          name: 'Database__Provider'
          value: usePostgres ? 'Postgres' : 'Sqlite'
        }
        // SQLite: /tmp is the instance's own writable disk (the package mount is read-only); see infra/README.md.
        {
          name: 'Database__ConnectionString'
          value: usePostgres
            ? '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${keyVaultSecretNames.databaseConnectionString}/)'
            : 'Data Source=/tmp/serverless/serverless.db'
        }
        {
          name: 'Database__BusyTimeout'
          value: '00:00:05'
        }
        // Caps each PostgreSQL pool of an instance, so maximumInstanceCount instances never exhaust the server.
        {
          name: 'Database__MaxPoolSize'
          value: string(databaseMaxPoolSize)
        }
        {
          name: 'ModelStorage__BlobServiceUri'
          value: blobServiceUri
        }
        {
          name: 'ModelStorage__ManagedIdentityClientId'
          value: identityClientId
        }
        {
          name: 'ModelStorage__Container'
          value: modelsContainerName
        }
        {
          name: 'ModelStorage__CacheDirectory'
          value: '/tmp/serverless-models'
        }
        {
          name: 'ModelStorage__DownloadParallelism'
          value: '8'
        }
        {
          name: 'ModelStorage__Models__0__Id'
          value: modelId
        }
        {
          name: 'ModelStorage__Models__0__BlobPrefix'
          value: empty(modelBlobPrefix) ? modelId : modelBlobPrefix
        }
        {
          name: 'Inference__MaxConcurrentGenerations'
          value: string(maxConcurrentGenerations)
        }
        {
          name: 'Inference__MaxQueuedRequests'
          value: string(maxQueuedRequests)
        }
        // Fair share per customer and key: empty means derived from the slots and the queue (half of them running, a quarter queued).
        {
          name: 'Inference__MaxConcurrentPerCustomer'
          value: ''
        }
        {
          name: 'Inference__MaxConcurrentPerKeyId'
          value: ''
        }
        {
          name: 'Inference__MaxQueuedPerCustomer'
          value: ''
        }
        {
          name: 'Inference__QueueTimeout'
          value: '00:00:30'
        }
        {
          // 0: half the instance's cores tokenize prompts at once.
          name: 'Inference__MaxConcurrentTokenizations'
          value: '0'
        }
        {
          name: 'Inference__DefaultMaxTokens'
          value: '1024'
        }
        {
          name: 'Inference__MaxRequestBodyBytes'
          value: '2097152'
        }
        {
          name: 'Inference__RetryAfterSeconds'
          value: '1'
        }
        {
          // Benchmark/diagnostic switch; a deployment always meters.
          name: 'Metering__Enabled'
          value: 'true'
        }
        {
          name: 'Metering__DefaultRequestsPerMinute'
          value: '600'
        }
        {
          name: 'Metering__DefaultTokensPerMinute'
          value: '2000000'
        }
        {
          name: 'Metering__MaxBatchSize'
          value: '1024'
        }
        {
          name: 'Metering__HeartbeatInterval'
          value: '00:00:10'
        }
        {
          name: 'Metering__DeadInstanceAfter'
          value: '00:01:00'
        }
        {
          name: 'Metering__SweepInterval'
          value: '00:00:15'
        }
        {
          name: 'Metering__OrphanReservationAfter'
          value: '01:00:00'
        }
        {
          name: 'Metering__IdempotencyWindow'
          value: '1.00:00:00'
        }
        {
          name: 'Metering__UnavailableRetryAfterSeconds'
          value: '2'
        }
        {
          name: 'Stripe__ApiKey'
          value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${keyVaultSecretNames.stripeApiKey}/)'
        }
        {
          name: 'Stripe__WebhookSecret'
          value: '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${keyVaultSecretNames.stripeWebhookSecret}/)'
        }
        {
          name: 'Stripe__ApiBase'
          value: 'https://api.stripe.com'
        }
        {
          name: 'Stripe__MeterEventsBase'
          value: 'https://meter-events.stripe.com'
        }
        {
          name: 'Stripe__InputMeterEventName'
          value: 'svl_input_tokens'
        }
        {
          name: 'Stripe__OutputMeterEventName'
          value: 'svl_output_tokens'
        }
        {
          name: 'Stripe__BucketSize'
          value: '00:01:00'
        }
        {
          name: 'Stripe__ExportInterval'
          value: '00:00:30'
        }
        {
          name: 'Stripe__ExportLease'
          value: '00:00:30'
        }
        {
          name: 'Stripe__ClaimBatchSize'
          value: '5000'
        }
        {
          name: 'Stripe__StreamThreshold'
          value: '50'
        }
        {
          name: 'Stripe__MaxParallelCalls'
          value: '8'
        }
        {
          name: 'Stripe__RequestTimeout'
          value: '00:00:30'
        }
        {
          name: 'Stripe__RetryDelay'
          value: '00:00:01'
        }
        {
          name: 'Stripe__MaxRetryDelay'
          value: '00:10:00'
        }
        {
          name: 'Stripe__ReconcileInterval'
          value: '06:00:00'
        }
        {
          name: 'Stripe__ReconcileDays'
          value: '3'
        }
        {
          name: 'Stripe__WebhookTolerance'
          value: '00:05:00'
        }
        // The dashboard is served over HTTPS only; TLS ends at the front end, so the worker cannot tell on its own.
        {
          name: 'Dashboard__SessionLifetime'
          value: '01:00:00'
        }
        {
          name: 'Dashboard__LinkLifetime'
          value: '00:15:00'
        }
        {
          name: 'Dashboard__SecureCookie'
          value: 'Always'
        }
        {
          name: 'Files__Container'
          value: batchContainerName
        }
        {
          name: 'Files__MaxUploadBytes'
          value: '104857600'
        }
        {
          name: 'Files__MaxFilesPerCustomer'
          value: '1000'
        }
        {
          name: 'Files__MaxBytesPerCustomer'
          value: '10737418240'
        }
        {
          name: 'Files__DefaultExpiry'
          value: '30.00:00:00'
        }
        // The local host's sweep interval; here the SweepExpiredFiles timer (every 10 minutes) runs the sweep.
        {
          name: 'Files__SweepInterval'
          value: '00:10:00'
        }
        {
          name: 'Batch__CompletionWindow'
          value: '1.00:00:00'
        }
        {
          name: 'Batch__MaxLines'
          value: '50000'
        }
        {
          name: 'Batch__MaxCustomIdLength'
          value: '64'
        }
        {
          name: 'Batch__ChunkSize'
          value: '20'
        }
        {
          name: 'Batch__MaxParallelChunks'
          value: '4'
        }
        // Lines of batches share an instance's generation slots with live requests; keep this below Inference__MaxConcurrentGenerations.
        {
          name: 'Batch__MaxConcurrentLines'
          value: string(max(1, maxConcurrentGenerations / 2))
        }
        {
          name: 'Batch__ProgressInterval'
          value: '00:00:01'
        }
        {
          name: 'Batch__LineAttempts'
          value: '3'
        }
        // OpenTelemetry to Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING above, by the identity).
        {
          name: 'Telemetry__Enabled'
          value: 'true'
        }
        {
          name: 'DurableTaskHubName'
          value: durableTaskHubName
        }
      ]
    }
  }
}

// Deployments authenticate with Entra ID (az functionapp deploy with an az login), never with publishing passwords.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
