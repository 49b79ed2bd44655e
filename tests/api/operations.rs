//! The operational endpoints of the contract.

use crate::helpers::spawn_app;

#[tokio::test]
async fn health_readiness_metrics_and_graphiql() {
    let app = spawn_app().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.address)).send();

    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);

    let _ = app
        .graphql("{ inventory { practiceCount } }", serde_json::json!({}))
        .await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE c2c_db_statements_total counter"));
    let requests: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("c2c_graphql_requests_total "))
        .and_then(|v| v.parse().ok())
        .expect("request counter");
    assert!(requests >= 1);

    let page = get("/graphql").await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
}
