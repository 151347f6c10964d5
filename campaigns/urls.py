from django.urls import path

from . import views

# Mounted under /o/<org_slug>/.
urlpatterns = [
    path("campaigns/", views.my_campaigns, name="my_campaigns"),
    path("campaigns/<uuid:public_id>/", views.my_campaign, name="my_campaign"),
    path("campaigns/<uuid:public_id>/link/", views.get_my_link, name="my_campaign_link"),
    path("links/<str:code>/share/<str:channel>/", views.share_link, name="share_link"),
    path("links/<str:code>/open/<str:channel>/", views.share_open, name="share_open"),
    path("manage/campaigns/", views.manage_list, name="campaign_manage_list"),
    path("manage/domains/", views.domains, name="campaign_domains"),
    path("manage/domains/<uuid:public_id>/delete/", views.domain_delete, name="campaign_domain_delete"),
    path("manage/campaigns/new/", views.campaign_create, name="campaign_create"),
    path("manage/campaigns/<uuid:public_id>/", views.campaign_manage, name="campaign_manage"),
    path("manage/campaigns/<uuid:public_id>/delete/", views.campaign_delete, name="campaign_delete"),
    path("manage/campaigns/<uuid:public_id>/messages/", views.message_add, name="campaign_message_add"),
    path("manage/campaigns/<uuid:public_id>/messages/<uuid:message_id>/", views.message_edit,
         name="campaign_message_edit"),
    path("manage/campaigns/<uuid:public_id>/messages/<uuid:message_id>/delete/", views.message_delete,
         name="campaign_message_delete"),
    path("manage/campaigns/<uuid:public_id>/images/", views.image_add, name="campaign_image_add"),
    path("manage/campaigns/<uuid:public_id>/images/<uuid:image_id>/delete/", views.image_delete,
         name="campaign_image_delete"),
    path("campaigns/images/<uuid:image_id>/download/", views.image_download, name="campaign_image_download"),
    path("campaigns/images/<uuid:image_id>/thumbnail/", views.image_thumbnail, name="campaign_image_thumbnail"),
    path("manage/campaigns/<uuid:public_id>/costs/", views.cost_add, name="campaign_cost_add"),
    path("manage/campaigns/<uuid:public_id>/costs/<uuid:cost_id>/delete/", views.cost_delete,
         name="campaign_cost_delete"),
]
