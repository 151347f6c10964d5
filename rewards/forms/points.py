"""Forms of the catalogue pages: an item (admins) and a decision's note. The rules and their
messages are rewards.services.points'; these only parse."""

from django import forms
from django_scopes.forms import SafeModelMultipleChoiceField

from ambassadors.models import AmbassadorGroup

from ..services.points import DESCRIPTION_MAX, NAME_MAX, NOTE_MAX, POINTS_MAX


class CatalogueItemForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX)
    description = forms.CharField(required=False, max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="What the ambassador gets, and how it reaches them.")
    points_cost = forms.IntegerField(label="Cost in points", min_value=1, max_value=POINTS_MAX)
    stock = forms.IntegerField(required=False, min_value=0, help_text="How many are left. Empty: unlimited.")
    per_ambassador_limit = forms.IntegerField(label="Limit per ambassador", required=False, min_value=1,
                                              help_text="How many one ambassador may redeem. Empty: no limit.")
    groups = SafeModelMultipleChoiceField(queryset=AmbassadorGroup.objects.none(), required=False,
                                          widget=forms.CheckboxSelectMultiple,
                                          help_text="Only these groups see the item. None ticked: everyone.")
    active = forms.BooleanField(required=False, initial=True, label="In the catalogue",
                                help_text="Untick to take the item out of the catalogue (redemptions stay).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = AmbassadorGroup.objects.order_by("name")

    @classmethod
    def for_item(cls, item, data=None):
        initial = {"name": item.name, "description": item.description, "points_cost": item.points_cost,
                   "stock": item.stock, "per_ambassador_limit": item.per_ambassador_limit,
                   "groups": list(item.groups.all()), "active": item.active}
        return cls(data, initial=initial)


class DecisionForm(forms.Form):
    note = forms.CharField(required=False, max_length=NOTE_MAX,
                           help_text="Optional; the ambassador sees it with the decision.")
